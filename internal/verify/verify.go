// Package verify owns the check that stands between a resolved plugin and
// the build.
//
// Before the build, [Plugins] loads each plugin package with
// golang.org/x/tools/go/packages under the build's own settings (flags,
// tags, GOOS/GOARCH, CGO_ENABLED, so that the type-check fills the build
// cache entries the build will use) and refuses, with a [*PluginError]
// naming the plugin, the position and the fix, a package that does not
// exist or has no files for the target, needs cgo the build cannot give
// it, is package main, does not type-check, has no init code, or (when
// [Config.RegisterFuncs] is set) never reaches a registration call from its
// init code (its own, or that of the packages it brings into the build
// that the host's build does not already link: an aggregator's), unless
// it declares one of [Config.Constructors] whose result a registration
// function takes. A plugin that passes is described by a [Report].
//
// The smoke check after the build lives in package smoke.
package verify

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"golang.org/x/tools/go/packages"
)

// Config describes the build the plugins must fit. The zero value loads
// with "go" from PATH in the current directory and the process
// environment; Plugins does not modify it.
//
// go/packages runs the go command found on the process's PATH: a PATH in
// Env does not choose it, and Plugins never changes the process
// environment. To check with another go (a rebuild's bundled toolchain),
// the process that calls Plugins puts that go first on its own PATH: a
// rebuild does so in the helper, a process of its own (package
// internal/rebuild).
type Config struct {
	// Dir is the host module directory.
	Dir string
	// Env is the complete environment of the go command (from gocmd).
	// Nil means the process environment. Plugins also reads GOOS, GOARCH,
	// CGO_ENABLED, CC and PATH from it for the cgo check.
	Env []string
	// BuildFlags are the build's flags (-tags, -trimpath, ...), so that the
	// type-check fills the same build cache entries the build uses.
	BuildFlags []string
	// RegisterFuncs, when set, lists the functions a plugin must call from
	// its init code. Each is fully qualified:
	//
	//	import/path.Func            a package-level function, e.g. "database/sql.Register"
	//	(*import/path.Type).Method  a method of a concrete type; the star is
	//	                            optional and both spellings match the method
	//
	// A call counts when it is reachable from a func init or a package-level
	// variable initialiser of the plugin package, following calls to, and
	// function or method values of, functions of that same package. Calls
	// through an interface or a function of another package are not
	// followed. Empty means no registration check.
	RegisterFuncs []string
	// Constructors, when set, are names of exported functions, such as
	// NewFactory, that a plugin whose init code calls none of
	// RegisterFuncs may declare instead: a constructor takes no
	// parameters and returns one value, which must be assignable to the
	// one parameter of exactly one package-level function of
	// RegisterFuncs. The Report says which (Report.Constructor); the
	// rebuild's generated code then calls Register(Constructor()).
	Constructors []string
	// Host, when set, is the host's main package, as an import path or a
	// pattern relative to Dir (such as "."). The packages its build links
	// (less those only the plugins bring) are the host's: their init code
	// ran before any plugin was installed, so a plugin registers only
	// through its own package and the packages it brings into the build
	// besides them. Each RegisterFuncs entry must name a function of the
	// host's build. Empty means every package a plugin imports counts.
	Host string
	// Installed are the import paths of the plugins the host has now,
	// which its main package imports: what only they bring is not the
	// host's.
	Installed []string
	// OnGoCommand, when set, is called after each go command that
	// go/packages ran, with its arguments after "go" and how long it
	// took, as go/packages logs it (Config.Logf).
	OnGoCommand func(args []string, d time.Duration) `json:"-"`
	// TypeCheck, when set, is waited for after the checks that compile
	// nothing (the package exists, has files for the target, is not
	// package main) and before the type-check, which compiles into the
	// build cache what it lacks: the caller may compile that meanwhile,
	// its own way. It is not called when those checks refused every
	// plugin. An error it returns ends Plugins with that error.
	TypeCheck func(ctx context.Context) error `json:"-"`
}

// Report is what the check found in a plugin that passed.
type Report struct {
	Path    string // import path
	Name    string // package name
	Module  string // module providing it; empty when unknown
	Version string // module version; empty for the main module or a directory replacement
	// Inits are the func init declarations that have a body.
	Inits []token.Position
	// VarInits are the package-level variable initialisers that call a
	// function (conversions and builtins such as len or make do not count).
	VarInits []token.Position
	// Registrations are the calls to Config.RegisterFuncs reachable from
	// the init code, in source order; empty when RegisterFuncs is.
	Registrations []Registration
	// Via are the packages the plugin brings into the build whose init
	// code counted besides its own: an aggregator's.
	Via []string `json:",omitempty"`
	// Constructor, when set, is how a plugin that registers nothing from
	// its init code registers: the generated code passes the result of
	// its constructor to a registration function.
	Constructor *Construction `json:",omitempty"`
}

// Registration is one call to a registration function found in a plugin.
type Registration struct {
	Func string         // the Config.RegisterFuncs entry it calls, as given
	Pos  token.Position // the call, its file shortened to the last directory and name
}

// Plugins loads and checks every package in paths (import paths). It
// returns a Report for each plugin that passed, in the order of paths, and
// for those refused a *PluginError, or errors.Join of several, one per
// refused plugin. Any other error (a malformed RegisterFuncs entry, one
// that names no function of the host's build, a go command that cannot
// run) is returned as it is.
//
// The checks that need no types (the package exists, has files for the
// target, is not package main, brings init code that can register, or a
// constructor) read go list's import graph and the source alone, so they
// refuse in seconds whatever the build cache holds; Config.TypeCheck is
// waited for after them.
func Plugins(ctx context.Context, cfg Config, paths []string) ([]Report, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	funcs, err := parseRegisterFuncs(cfg.RegisterFuncs)
	if err != nil {
		return nil, err
	}
	if err := checkConstructors(cfg.Constructors, funcs); err != nil {
		return nil, err
	}
	t := newTarget(cfg)
	kept, refused, err := checkMeta(ctx, cfg, t, funcs, paths)
	if err != nil {
		return nil, err
	}
	if cfg.TypeCheck != nil && len(kept) > 0 {
		if err := cfg.TypeCheck(ctx); err != nil {
			return nil, err
		}
	}
	reports, more, err := checkTyped(ctx, cfg, t, funcs, kept)
	if err != nil {
		return nil, err
	}
	return reports, joinErrors(append(refused, more...))
}

// metaMode loads what the checks before type-checking need: names,
// files, modules and the import graph, without compiling anything.
const metaMode = packages.NeedName | packages.NeedFiles | packages.NeedModule | packages.NeedImports | packages.NeedDeps

// typedMode type-checks the plugins from source and their dependencies
// from export data, which compiles them into the build cache.
const typedMode = packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedModule

// checkMeta runs the checks that need no type information and returns
// what it learned of the plugins that passed them.
func checkMeta(ctx context.Context, cfg Config, t target, funcs []registerFunc, paths []string) (kept []reach, refused []error, err error) {
	patterns := paths
	if cfg.Host != "" {
		patterns = append(slices.Clone(paths), cfg.Host)
	}
	byPath, roots, err := load(ctx, cfg, metaMode, patterns)
	if err != nil {
		return nil, nil, err
	}
	cut := map[string]bool{}
	for _, p := range append(slices.Clone(paths), cfg.Installed...) {
		cut[p] = true
	}
	var host *packages.Package
	for _, r := range roots {
		if !cut[r.PkgPath] && cfg.Host != "" {
			host = r
			break
		}
	}
	parsed := map[*packages.Package]syntax{}
	parse := func(p *packages.Package) syntax {
		s, ok := parsed[p]
		if !ok {
			s = parseSyntax(p)
			parsed[p] = s
		}
		return s
	}
	if len(funcs) > 0 {
		if err := checkRegisterFuncs(funcs, hostFiles(host, roots)); err != nil {
			return nil, nil, err
		}
	}
	inHost := hostPackages(host, cut)
	for _, path := range paths {
		p := byPath[path]
		if err := t.checkPackage(path, p); err != nil {
			refused = append(refused, err)
			continue
		}
		r := newReach(p, inHost, funcs, cfg.Constructors, parse)
		if err := checkReach(r, funcs, cfg.Constructors); err != nil {
			refused = append(refused, err)
			continue
		}
		kept = append(kept, r)
	}
	return kept, refused, nil
}

// checkTyped type-checks the plugins, and the packages they bring whose
// init code may register, and analyses that init code.
func checkTyped(ctx context.Context, cfg Config, t target, funcs []registerFunc, kept []reach) ([]Report, []error, error) {
	if len(kept) == 0 {
		return nil, nil, nil
	}
	var patterns []string
	add := func(path string) {
		if !slices.Contains(patterns, path) {
			patterns = append(patterns, path)
		}
	}
	constructors := false
	for _, r := range kept {
		add(r.root.PkgPath)
		for _, p := range r.withInit {
			add(p.PkgPath)
		}
		constructors = constructors || len(r.constructors) > 0
	}
	if constructors {
		// The registration functions' parameter types, in the same
		// load, so that a constructor's result is compared with them.
		for _, f := range funcs {
			if f.recv == "" {
				add(f.pkg)
			}
		}
	}
	byPath, _, err := load(ctx, cfg, typedMode, patterns)
	if err != nil {
		return nil, nil, err
	}
	var reports []Report
	var refused []error
	for _, r := range kept {
		p := byPath[r.root.PkgPath]
		if p == nil {
			refused = append(refused, notLoaded(r.root.PkgPath))
			continue
		}
		if err := typeErrors(p, t); err != nil {
			refused = append(refused, err)
			continue
		}
		rep, err := checkInit(p, r, funcs, byPath)
		if err != nil {
			refused = append(refused, err)
			continue
		}
		reports = append(reports, rep)
	}
	return reports, refused, nil
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...) // nil when errs is empty
}

// load runs packages.Load and returns the root packages, indexed by
// import path and in order.
func load(ctx context.Context, cfg Config, mode packages.LoadMode, paths []string) (map[string]*packages.Package, []*packages.Package, error) {
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	pcfg := &packages.Config{
		Context:    ctx,
		Mode:       mode,
		Dir:        cfg.Dir,
		Env:        gocmd.Set(env, "GOPACKAGESDRIVER", "off"),
		BuildFlags: cfg.BuildFlags,
	}
	if cfg.OnGoCommand != nil {
		pcfg.Logf = goCommandLog(cfg.Dir, cfg.OnGoCommand)
	}
	pkgs, err := packages.Load(pcfg, paths...)
	if err != nil {
		return nil, nil, fmt.Errorf("loading plugins %s: %w", strings.Join(paths, ", "), err)
	}
	byPath := map[string]*packages.Package{}
	for _, p := range pkgs {
		byPath[p.PkgPath] = p
	}
	return byPath, pkgs, nil
}

// rel shortens a position's file name to its last two elements, which is
// what a plugin author recognises (module cache paths are long).
func rel(pos token.Position) token.Position {
	if pos.Filename != "" {
		dir, file := filepath.Split(pos.Filename)
		pos.Filename = filepath.Join(filepath.Base(dir), file)
	}
	return pos
}

// relPos shortens the file of a go/packages position string
// ("file:line:col", "file:line", "" or "-") like rel.
func relPos(pos string) string {
	start := strings.LastIndexAny(pos, `/\`)
	if start < 0 {
		return pos
	}
	colon := strings.IndexByte(pos[start:], ':')
	if colon < 0 {
		return filepath.Join(filepath.Base(filepath.Dir(pos)), filepath.Base(pos))
	}
	file := pos[:start+colon]
	return filepath.Join(filepath.Base(filepath.Dir(file)), filepath.Base(file)) + pos[start+colon:]
}

// goCommandLog turns what go/packages logs after each go command it runs
// in dir — "%s for %v" with the duration and "GOROOT=... PWD=DIR go
// ARGS..." (x/tools internal/gocommand, cmdDebugStr) — into a call of
// on. Other lines are dropped.
func goCommandLog(dir string, on func(args []string, d time.Duration)) func(string, ...any) {
	return func(format string, args ...any) {
		if format != "%s for %v" || len(args) != 2 {
			return
		}
		d, ok1 := args[0].(time.Duration)
		cmdline, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return
		}
		if words, ok := goArgs(cmdline, dir); ok && len(words) > 1 {
			on(words[1:], d)
		}
	}
}

// goArgs takes the command's words out of a go/packages command line:
// what follows " PWD=dir ", each word Go-quoted when it holds a space or
// a character that needs quoting.
func goArgs(cmdline, dir string) ([]string, bool) {
	_, rest, ok := strings.Cut(cmdline, " PWD="+dir+" ")
	if !ok {
		return nil, false
	}
	var words []string
	for rest != "" {
		var w string
		if rest[0] == '"' {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, false
			}
			w, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			w, rest, _ = strings.Cut(rest, " ")
		}
		words = append(words, w)
		rest = strings.TrimLeft(rest, " ")
	}
	return words, true
}
