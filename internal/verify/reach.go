package verify

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// A plugin registers through its own init code or through the init code
// of the packages it brings into the build: an aggregator such as
// Benthos' public/components/io is one blank import of a package (internal
// to its module, so no other module can import it) whose init registers
// two dozen components, and the root package of caddy-l4 is two dozen
// blank imports of packages that each register a Caddy module. The go
// command runs the init code of every package a program links, each
// after its imports', so what a plugin adds to a build is its own package
// and every package it imports, directly or not, that the host's build did
// not link already. Those are the packages whose init code counts for it;
// the host's own packages are excluded, since their init code ran before
// the plugin was installed and registers nothing new.

// brought returns what root brings into a build that links the packages
// of inHost already: root itself and every package it imports, directly
// or not, through packages that are not in inHost, in the order a
// breadth-first walk from root finds them. "unsafe" and "C" are not
// packages with code. With inHost nil (the host's build is not known), the
// standard library counts as the host's: every program links much of it.
func brought(root *packages.Package, inHost map[string]bool) []*packages.Package {
	seen := map[*packages.Package]bool{root: true}
	queue := []*packages.Package{root}
	for i := 0; i < len(queue); i++ {
		q := queue[i]
		for _, path := range slices.Sorted(maps.Keys(q.Imports)) {
			imp := q.Imports[path]
			if seen[imp] || inHost[imp.PkgPath] || imp.PkgPath == "unsafe" || imp.PkgPath == "C" || inHost == nil && imp.Module == nil {
				continue
			}
			seen[imp] = true
			queue = append(queue, imp)
		}
	}
	return queue
}

// hostPackages returns the import paths of the packages the host's build
// links without the plugins: host and everything it imports, directly or
// not, except through the packages of cut (the plugins, installed or being
// checked, which the host's main package imports through the generated
// plugins file). It is nil for a nil host: not known.
func hostPackages(host *packages.Package, cut map[string]bool) map[string]bool {
	if host == nil {
		return nil
	}
	in := map[string]bool{}
	var visit func(p *packages.Package)
	visit = func(p *packages.Package) {
		if in[p.PkgPath] || cut[p.PkgPath] {
			return
		}
		in[p.PkgPath] = true
		for _, imp := range p.Imports {
			visit(imp)
		}
	}
	visit(host)
	return in
}

// closure returns the import paths of p and everything it imports,
// directly or not.
func closure(p *packages.Package) map[string]bool {
	in := map[string]bool{}
	var visit func(q *packages.Package)
	visit = func(q *packages.Package) {
		if in[q.PkgPath] {
			return
		}
		in[q.PkgPath] = true
		for _, imp := range q.Imports {
			visit(imp)
		}
	}
	visit(p)
	return in
}

// syntax is what the source of a package says without type information.
type syntax struct {
	// init is the position of the first init code the files hold (a
	// func init with a body, or a package-level variable initialised by
	// what may be a call); empty when there is none. Without types a
	// conversion T(x) reads as a call, so this may find init code where
	// the type-check finds none, never the other way round.
	init string
	// certain is set when the init code found is sure to run code: a
	// func init with a body.
	certain bool
	// funcs are the package-level functions the files declare, and
	// methods as "Type.Method".
	funcs map[string]bool
}

// parseSyntax parses the Go files of p (comments and bodies, no object
// resolution). A file that does not parse is skipped: the type-check
// reports it, with its position.
func parseSyntax(p *packages.Package) syntax { return parseFiles(p.GoFiles) }

// parseFiles reads the declarations of a package's Go files (see
// parseSyntax).
func parseFiles(files []string) syntax {
	s := syntax{funcs: map[string]bool{}}
	fset := token.NewFileSet()
	for _, name := range files {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range f.Decls {
			if pos, certain := declInit(d); pos.IsValid() {
				if s.init == "" {
					s.init = rel(fset.Position(pos)).String()
				}
				s.certain = s.certain || certain
			}
			if fd, ok := d.(*ast.FuncDecl); ok {
				s.funcs[funcKey(fd)] = true
			}
		}
	}
	return s
}

// declInit returns the position of the init code d holds, or NoPos, and
// whether it surely runs code (a func init with a body).
func declInit(d ast.Decl) (pos token.Pos, certain bool) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil && d.Name.Name == "init" && d.Body != nil && len(d.Body.List) > 0 {
			return d.Pos(), true
		}
	case *ast.GenDecl:
		if d.Tok != token.VAR {
			return token.NoPos, false
		}
		for _, spec := range d.Specs {
			for _, v := range spec.(*ast.ValueSpec).Values {
				if mayCall(v) {
					return v.Pos(), false
				}
			}
		}
	}
	return token.NoPos, false
}

// builtins are the predeclared functions a package-level initialiser may
// call without running any code of another package.
var builtins = map[string]bool{
	"append": true, "cap": true, "complex": true, "imag": true, "len": true,
	"make": true, "max": true, "min": true, "new": true, "real": true,
}

// mayCall reports whether evaluating e may call a function, by syntax
// alone: any call but one of a builtin by its name. The body of a
// function literal runs only when the literal is called.
func mayCall(e ast.Expr) bool {
	return anyCall(e, func(call *ast.CallExpr) bool {
		id, ok := ast.Unparen(call.Fun).(*ast.Ident)
		return !ok || !builtins[id.Name]
	})
}

// anyCall reports whether evaluating e makes a call that counts, outside
// the bodies of function literals (which run only when called).
func anyCall(e ast.Expr, counts func(*ast.CallExpr) bool) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			found = counts(n)
		}
		return !found
	})
	return found
}

// funcKey names a function declaration: "Func", or "Type.Method" without
// the receiver's star and type parameters.
func funcKey(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// reach is what the checks before the type-check learned of one plugin.
type reach struct {
	root *packages.Package
	// pkgs are the packages the plugin brings into the build (see
	// brought), root first.
	pkgs []*packages.Package
	// relevant are those of pkgs that can call one of the registration
	// functions (all of pkgs without any); withInit those of relevant,
	// and root, whose source holds init code: what the type-check
	// analyses, root first.
	relevant, withInit []*packages.Package
	// constructors are the names of Config.Constructors the root
	// package declares as functions.
	constructors []string
}

// newReach finds what root brings into the build and which of it the
// type-check must look at; parse parses a package (once per package).
func newReach(root *packages.Package, inHost map[string]bool, funcs []registerFunc, ctors []string, parse func(*packages.Package) syntax) reach {
	r := reach{root: root, pkgs: brought(root, inHost)}
	rootSyntax := parse(root)
	for _, c := range ctors {
		if rootSyntax.funcs[c] {
			r.constructors = append(r.constructors, c)
		}
	}
	r.relevant = canCall(r.pkgs, funcs)
	if rootSyntax.init != "" {
		r.withInit = append(r.withInit, root)
	}
	for _, p := range r.relevant {
		if len(funcs) == 0 && len(r.withInit) > 0 && parse(r.withInit[len(r.withInit)-1]).certain {
			// Without registration functions any init code will do:
			// one that surely runs code ends the search.
			break
		}
		if p == root {
			continue
		}
		s := parse(p)
		if s.init == "" {
			continue
		}
		r.withInit = append(r.withInit, p)
	}
	if len(r.withInit) > 0 && r.withInit[0] != root {
		// The type-check always loads the plugin itself.
		r.withInit = append([]*packages.Package{root}, r.withInit...)
	}
	return r
}

// canCall returns the packages of pkgs that can call one of funcs: for a
// package-level function, those that import its package (a call needs the
// import) or are it; for a method, those that depend on its package,
// directly or not (the value it is called on may come from elsewhere).
// Without funcs, every package can.
func canCall(pkgs []*packages.Package, funcs []registerFunc) []*packages.Package {
	if len(funcs) == 0 {
		return pkgs
	}
	deps := map[*packages.Package]map[string]bool{}
	var out []*packages.Package
	for _, p := range pkgs {
		for _, f := range funcs {
			ok := p.PkgPath == f.pkg || p.Imports[f.pkg] != nil
			if !ok && f.recv != "" {
				if deps[p] == nil {
					deps[p] = closure(p)
				}
				ok = deps[p][f.pkg]
			}
			if ok {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// looked names the packages a refusal looked at besides the plugin.
func (r reach) looked(what []*packages.Package) string {
	var names []string
	for _, p := range what {
		if p != r.root {
			names = append(names, p.PkgPath)
		}
	}
	if len(names) == 0 {
		return ""
	}
	if n := len(names) - maxErrors; n > 0 {
		names = append(names[:maxErrors], fmt.Sprintf("and %d more", n))
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// brings says what r brings into the build besides the plugin, as the
// end of a refusal's first clause: ", and imports no package ...", or
// ", nor do the N packages ... (names)" followed by tail.
func (r reach) brings(tail string) string {
	switch n := len(r.pkgs) - 1; n {
	case 0:
		return ", and it imports no package the host's build does not already link"
	case 1:
		return ", nor does the one package it brings into the build that the host's build does not already link" + r.looked(r.pkgs) + " " + tail
	default:
		return fmt.Sprintf(", nor do the %d packages it brings into the build that the host's build does not already link%s %s", n, r.looked(r.pkgs), tail)
	}
}

// checkReach refuses, from syntax and the import graph alone, a plugin
// that cannot register: no init code in anything it brings into the build
// that could register, and no constructor of a configured name. What it
// lets through is decided by the type-check.
func checkReach(r reach, funcs []registerFunc, ctors []string) error {
	if len(r.constructors) > 0 || len(r.withInit) > 0 {
		return nil
	}
	const none = "has no init code (no func init with a body, no package-level variable initialised by a function call)"
	switch {
	case len(funcs) == 0:
		return refuse(r.root, NoInitCode, "", "%s%s, so importing it registers nothing. Register the plugin from func init", none, r.brings("have any"))
	case len(r.relevant) == 0:
		return refuse(r.root, NoInitCode, "", "%s that can register: neither it nor any package it brings into the build%s imports %s, so importing it registers nothing. Register the plugin from func init by calling %s%s", none, broughtNote(r), funcPackages(funcs), funcNames(funcs), ctorHint(ctors))
	case len(r.relevant) == 1: // the plugin itself
		return refuse(r.root, NoInitCode, "", "%s%s, so importing it registers nothing. Register the plugin from func init by calling %s%s", none, r.brings("import "+funcPackages(funcs)), funcNames(funcs), ctorHint(ctors))
	}
	return refuse(r.root, NoInitCode, "", "%s, nor do the packages it brings into the build that can call %s%s, so importing it registers nothing. Register the plugin from func init by calling %s%s", none, funcNames(funcs), r.looked(r.relevant), funcNames(funcs), ctorHint(ctors))
}

// broughtNote names what r brings besides the plugin, for a refusal.
func broughtNote(r reach) string {
	if len(r.pkgs) == 1 {
		return ""
	}
	return " that the host's build does not already link" + r.looked(r.pkgs)
}

func funcPackages(funcs []registerFunc) string {
	var pkgs []string
	for _, f := range funcs {
		if !slices.Contains(pkgs, f.pkg) {
			pkgs = append(pkgs, f.pkg)
		}
	}
	return strings.Join(pkgs, " or ")
}

func ctorHint(ctors []string) string {
	if len(ctors) == 0 {
		return ""
	}
	return ", or export " + strings.Join(ctors, " or ") + " returning what one of the host's registration functions takes"
}
