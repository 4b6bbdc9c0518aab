package verify

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/typeutil"
)

// maxErrors is how many errors or positions a refusal quotes.
const maxErrors = 5

// typeErrors refuses a package that does not type-check, quoting the
// first few errors with their positions.
func typeErrors(p *packages.Package, t target) error {
	errs := uniqueErrors(p.Errors)
	if len(errs) == 0 {
		return nil
	}
	quoted := make([]string, 0, maxErrors+1)
	for _, e := range errs[:min(len(errs), maxErrors)] {
		quoted = append(quoted, formatError(e))
	}
	if n := len(errs) - maxErrors; n > 0 {
		quoted = append(quoted, fmt.Sprintf("and %d more", n))
	}
	return refuse(p, TypeErrors, relPos(errs[0].Pos), "does not compile for %s: %s. Fix the plugin, or choose a version of it that compiles against the host's dependencies", t, strings.Join(quoted, "; "))
}

// uniqueErrors returns p's errors without repeats: with export data the
// go command reports the compiler's output as one error ("# pkg" and a
// line per error) and the type checker reports the same problems again.
func uniqueErrors(errs []packages.Error) []packages.Error {
	seen := map[string]bool{}
	var out []packages.Error
	for _, e := range expandCompilerOutput(errs) {
		key := relPos(e.Pos) // the compiler prints paths relative to the module
		if key == "" || key == "-" {
			key = firstLine(e.Msg)
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
	}
	return out
}

// compilerLine is one line of compiler output: "file:line[:col]: msg".
var compilerLine = regexp.MustCompile(`^(.+?:\d+(?::\d+)?): (.*)$`)

// expandCompilerOutput turns a "# pkg" error of the go command into one
// error per line of the compiler's output.
func expandCompilerOutput(errs []packages.Error) []packages.Error {
	var out []packages.Error
	for _, e := range errs {
		lines := strings.Split(strings.TrimSpace(e.Msg), "\n")
		if e.Kind != packages.ListError || !strings.HasPrefix(lines[0], "# ") || len(lines) == 1 {
			out = append(out, e)
			continue
		}
		for _, l := range lines[1:] {
			l = strings.TrimSpace(l)
			if m := compilerLine.FindStringSubmatch(l); m != nil {
				out = append(out, packages.Error{Pos: m[1], Msg: m[2], Kind: packages.TypeError})
			} else if l != "" && !strings.HasPrefix(l, "too many errors") {
				out = append(out, packages.Error{Msg: l, Kind: packages.ListError})
			}
		}
	}
	return out
}

func formatError(e packages.Error) string {
	pos := relPos(e.Pos)
	if pos == "" || pos == "-" {
		return firstLine(e.Msg)
	}
	return pos + ": " + firstLine(e.Msg)
}

// checkInit finds the init code of p and of the packages r found it
// brings that may register (their type-checked forms in byPath), and,
// when funcs is set, the registration calls that code reaches; failing
// those, a constructor of r that a registration function takes.
func checkInit(p *packages.Package, r reach, funcs []registerFunc, byPath map[string]*packages.Package) (Report, error) {
	rep := Report{Path: p.PkgPath, Name: p.Name}
	if p.Module != nil {
		rep.Module, rep.Version = p.Module.Path, moduleVersion(p)
	}
	pkgs := []*packages.Package{p}
	for _, q := range r.withInit {
		if tq := byPath[q.PkgPath]; tq != nil && tq != p && tq.TypesInfo != nil {
			pkgs = append(pkgs, tq)
		}
	}
	var all initCode
	var reached []Registration
	for _, q := range pkgs {
		c := findInitCode(q)
		all.inits = append(all.inits, c.inits...)
		all.varInits = append(all.varInits, c.varInits...)
		counts := len(c.inits)+len(c.varInits) > 0
		if len(funcs) > 0 {
			regs := reachableCalls(q, funcs, c.roots)
			reached = append(reached, regs...)
			counts = len(regs) > 0
		}
		if counts && q != p {
			rep.Via = append(rep.Via, q.PkgPath)
		}
	}
	rep.Inits, rep.VarInits = all.inits, all.varInits
	switch {
	case len(funcs) == 0 && len(all.inits)+len(all.varInits) > 0:
		return rep, nil
	case len(reached) > 0:
		rep.Registrations = reached
		return rep, nil
	case len(r.constructors) > 0:
		c, err := construct(p, r.constructors, funcs, byPath)
		if err != nil {
			return Report{}, err
		}
		rep.Constructor, rep.Via = c, nil
		return rep, nil
	case len(all.inits)+len(all.varInits) == 0:
		return Report{}, refuse(p, NoInitCode, "", "has no init code (no func init with a body, no package-level variable initialised by a function call)%s, so importing it registers nothing. Register the plugin from func init%s", r.looked(r.withInit), callHint(funcs))
	}
	return Report{}, noRegistration(p, pkgs, funcs, all)
}

func callHint(funcs []registerFunc) string {
	if len(funcs) == 0 {
		return ""
	}
	return " by calling " + funcNames(funcs)
}

// funcNames names the registration functions for a refusal: each of a
// few, or the first few of many, so that the message stays a paragraph.
func funcNames(funcs []registerFunc) string {
	const few = 3
	names := make([]string, 0, few)
	for _, f := range funcs[:min(len(funcs), few)] {
		names = append(names, f.spec)
	}
	if len(funcs) > few {
		return fmt.Sprintf("one of the host's %d RegisterFuncs (%s, ...)", len(funcs), strings.Join(names, ", "))
	}
	return strings.Join(names, " or ")
}

// noRegistration refuses p, pointing at the unreached registration calls
// of pkgs (p and what it brings) when there are some, else at their init
// code.
func noRegistration(p *packages.Package, pkgs []*packages.Package, funcs []registerFunc, c initCode) error {
	starts := append(append([]token.Position(nil), c.inits...), c.varInits...)
	pos := starts[0].String()
	note := ""
	var all []Registration
	for _, q := range pkgs {
		all = append(all, reachableCalls(q, funcs, allCode(q))...)
	}
	if len(all) > 0 {
		pos = all[0].Pos.String()
		note = fmt.Sprintf("; it calls %s at %s, but from code that its init code does not reach", all[0].Func, positions(regPositions(all)))
	}
	return refuse(p, NoRegistration, pos, "does not call %s from its init code (%s)%s. Call it from func init, directly or through functions of the plugin's own package; calls through an interface or a function of another package are not followed", funcNames(funcs), positions(starts), note)
}

func regPositions(regs []Registration) []token.Position {
	out := make([]token.Position, len(regs))
	for i, r := range regs {
		out[i] = r.Pos
	}
	return out
}

// positions lists up to maxErrors positions.
func positions(ps []token.Position) string {
	var s []string
	for _, p := range ps[:min(len(ps), maxErrors)] {
		s = append(s, p.String())
	}
	if n := len(ps) - maxErrors; n > 0 {
		s = append(s, fmt.Sprintf("and %d more", n))
	}
	return strings.Join(s, ", ")
}

// initCode is the code of a package that runs when it is imported.
type initCode struct {
	inits    []token.Position // func init with a body
	varInits []token.Position // package-level initialisers that call a function
	roots    []ast.Node       // the bodies of init and every package-level initialiser
}

func findInitCode(p *packages.Package) initCode {
	var c initCode
	for _, f := range p.Syntax {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == "init" && d.Body != nil {
					c.roots = append(c.roots, d.Body)
					if len(d.Body.List) > 0 {
						c.inits = append(c.inits, rel(p.Fset.Position(d.Pos())))
					}
				}
			case *ast.GenDecl:
				c.addVars(p, d)
			}
		}
	}
	return c
}

func (c *initCode) addVars(p *packages.Package, d *ast.GenDecl) {
	if d.Tok != token.VAR {
		return
	}
	for _, spec := range d.Specs {
		for _, v := range spec.(*ast.ValueSpec).Values {
			c.roots = append(c.roots, v)
			if callsFunction(p.TypesInfo, v) {
				c.varInits = append(c.varInits, rel(p.Fset.Position(v.Pos())))
			}
		}
	}
}

// callsFunction reports whether evaluating e calls a function: a call
// that is not a conversion or a builtin (len, make, new, unsafe.Sizeof,
// ...). A composite literal such as T{} is not a call, and the body of a
// function literal runs only when the literal is called.
func callsFunction(info *types.Info, e ast.Expr) bool {
	return anyCall(e, func(call *ast.CallExpr) bool {
		tv, ok := info.Types[call.Fun]
		return !ok || (!tv.IsType() && !tv.IsBuiltin())
	})
}

// allCode is every function body and package-level initialiser of p.
func allCode(p *packages.Package) []ast.Node {
	var nodes []ast.Node
	for _, f := range p.Syntax {
		for _, d := range f.Decls {
			nodes = append(nodes, d)
		}
	}
	return nodes
}

// reachableCalls returns the calls to funcs reachable from roots, in
// source order. It follows every function and method of p's own package
// that reachable code names, called or used as a value (a method value
// or a function passed elsewhere may be called; assuming it is keeps the
// check from refusing a plugin that registers through a callback such as
// sync.Once.Do). The bodies of function literals are part of the code
// that contains them. Calls through an interface, a func-typed variable
// or field, or a function of another package are not followed.
func reachableCalls(p *packages.Package, funcs []registerFunc, roots []ast.Node) []Registration {
	w := &walker{p: p, funcs: funcs, decls: funcDecls(p), seen: map[*types.Func]bool{}, found: map[token.Pos]string{}}
	w.queue = append(w.queue, roots...)
	for len(w.queue) > 0 {
		n := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		ast.Inspect(n, w.visit)
	}
	return w.registrations()
}

// funcDecls maps the functions and methods declared in p to their
// declarations.
func funcDecls(p *packages.Package) map[*types.Func]*ast.FuncDecl {
	decls := map[*types.Func]*ast.FuncDecl{}
	for _, f := range p.Syntax {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := p.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					decls[fn] = fd
				}
			}
		}
	}
	return decls
}

type walker struct {
	p     *packages.Package
	funcs []registerFunc
	decls map[*types.Func]*ast.FuncDecl
	seen  map[*types.Func]bool
	queue []ast.Node
	found map[token.Pos]string // registration call -> RegisterFuncs entry
}

func (w *walker) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.CallExpr:
		if fn := typeutil.StaticCallee(w.p.TypesInfo, n); fn != nil {
			if spec, ok := matchFunc(w.funcs, fn); ok {
				w.found[n.Pos()] = spec
			}
		}
	case *ast.Ident:
		if fn, ok := w.p.TypesInfo.Uses[n].(*types.Func); ok {
			w.follow(fn.Origin())
		}
	}
	return true
}

// follow queues the body of fn when it is declared in the package and
// not yet seen. Methods of interfaces have no declaration, so a call
// through an interface goes nowhere.
func (w *walker) follow(fn *types.Func) {
	if fn.Pkg() != w.p.Types || w.seen[fn] {
		return
	}
	w.seen[fn] = true
	if d := w.decls[fn]; d != nil {
		w.queue = append(w.queue, d.Body)
	}
}

func (w *walker) registrations() []Registration {
	regs := make([]Registration, 0, len(w.found))
	for pos, spec := range w.found {
		regs = append(regs, Registration{Func: spec, Pos: w.p.Fset.Position(pos)})
	}
	sort.Slice(regs, func(i, j int) bool {
		a, b := regs[i].Pos, regs[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Offset < b.Offset
	})
	for i := range regs {
		regs[i].Pos = rel(regs[i].Pos)
	}
	return regs
}
