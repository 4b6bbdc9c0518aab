package verify

import (
	"fmt"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/packages"
)

// registerFunc is one Config.RegisterFuncs entry, parsed.
type registerFunc struct {
	spec string // as given
	pkg  string // import path
	recv string // receiver type name; empty for a package-level function
	name string
}

// CheckSettings checks the shape of the host's settings registerFuncs
// and constructors (Config.RegisterFuncs, Config.Constructors), as
// Plugins does before any go command runs: for a caller that refuses a
// bad setting before any other work.
func CheckSettings(registerFuncs, constructors []string) error {
	funcs, err := parseRegisterFuncs(registerFuncs)
	if err != nil {
		return err
	}
	return checkConstructors(constructors, funcs)
}

func parseRegisterFuncs(specs []string) ([]registerFunc, error) {
	var funcs []registerFunc
	for _, s := range specs {
		f, err := parseRegisterFunc(s)
		if err != nil {
			return nil, err
		}
		funcs = append(funcs, f)
	}
	return funcs, nil
}

// parseRegisterFunc parses "import/path.Func" or
// "(*import/path.Type).Method"; see Config.RegisterFuncs.
func parseRegisterFunc(spec string) (registerFunc, error) {
	f := registerFunc{spec: spec}
	qual := spec
	if strings.HasPrefix(spec, "(") {
		end := strings.Index(spec, ").")
		if end < 0 {
			return f, badRegisterFunc(spec)
		}
		qual = strings.TrimPrefix(spec[1:end], "*")
		f.name = spec[end+2:]
	}
	i := strings.LastIndexByte(qual, '.')
	if i <= strings.LastIndexByte(qual, '/')+1 {
		return f, badRegisterFunc(spec)
	}
	if f.name == "" {
		f.pkg, f.name = qual[:i], qual[i+1:]
	} else {
		f.pkg, f.recv = qual[:i], qual[i+1:]
		if !token.IsIdentifier(f.recv) {
			return f, badRegisterFunc(spec)
		}
	}
	if !token.IsIdentifier(f.name) {
		return f, badRegisterFunc(spec)
	}
	return f, nil
}

func badRegisterFunc(spec string) error {
	return &SettingError{Setting: "RegisterFuncs", Entry: spec, Msg: "is neither import/path.Func nor (*import/path.Type).Method: fix the host's RegisterFuncs (Options.RegisterFuncs), e.g. image.RegisterFormat or (*example.com/host/registry.Registry).Add"}
}

// matchFunc returns the entry of funcs that names fn.
func matchFunc(funcs []registerFunc, fn *types.Func) (string, bool) {
	for _, f := range funcs {
		if f.matches(fn) {
			return f.spec, true
		}
	}
	return "", false
}

func (f registerFunc) matches(fn *types.Func) bool {
	if fn.Pkg() == nil || fn.Name() != f.name || fn.Pkg().Path() != f.pkg {
		return false
	}
	recv := fn.Signature().Recv()
	if recv == nil {
		return f.recv == ""
	}
	return f.recv != "" && recvName(recv.Type()) == f.recv
}

// recvName is the name of a method's receiver type, without pointer or
// type arguments.
func recvName(t types.Type) string {
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := types.Unalias(t).(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}

// CheckRegisterFuncs checks, from source alone, that each entry of
// registerFuncs (see Config.RegisterFuncs) names a function or method
// declared in the host's build, so that a mistyped host setting is
// refused as the host's before anything is compiled or any plugin is
// checked. files returns the Go files (absolute paths) that the build
// compiles of a package of that build, and ok false when the build has
// no such package. The error is a *SettingError.
func CheckRegisterFuncs(registerFuncs []string, files func(importPath string) (goFiles []string, ok bool)) error {
	funcs, err := parseRegisterFuncs(registerFuncs)
	if err != nil {
		return err
	}
	return checkRegisterFuncs(funcs, files)
}

// hostFiles returns the lookup of CheckRegisterFuncs over the host's
// build as loaded: host, with every package it imports. Without a host,
// the packages loaded (roots) and their imports are searched, and a
// package found in none of them is let be: nothing loaded tells.
func hostFiles(host *packages.Package, roots []*packages.Package) func(string) ([]string, bool) {
	from := roots
	if host != nil {
		from = []*packages.Package{host}
	}
	pkgs := map[string]*packages.Package{}
	var visit func(p *packages.Package)
	visit = func(p *packages.Package) {
		if pkgs[p.PkgPath] != nil {
			return
		}
		pkgs[p.PkgPath] = p
		for _, imp := range p.Imports {
			visit(imp)
		}
	}
	for _, p := range from {
		visit(p)
	}
	return func(path string) ([]string, bool) {
		p := pkgs[path]
		if p == nil {
			return nil, host == nil
		}
		return p.GoFiles, true
	}
}

// checkRegisterFuncs checks that each of funcs names a function or method
// declared in the files of its package (see CheckRegisterFuncs). A
// package with no files for the target is let be: the go command says
// why.
func checkRegisterFuncs(funcs []registerFunc, files func(string) ([]string, bool)) error {
	for _, f := range funcs {
		names, ok := files(f.pkg)
		if !ok {
			return &SettingError{Setting: "RegisterFuncs", Entry: f.spec, Msg: fmt.Sprintf("names nothing: the host's build has no package %s: fix the host's RegisterFuncs (Options.RegisterFuncs), or import that package from the host", f.pkg)}
		}
		if len(names) == 0 {
			continue
		}
		key := f.name
		if f.recv != "" {
			key = f.recv + "." + f.name
		}
		if !parseFiles(names).funcs[key] {
			what := "function " + f.name
			if f.recv != "" {
				what = "method " + f.name + " of type " + f.recv
			}
			return &SettingError{Setting: "RegisterFuncs", Entry: f.spec, Msg: fmt.Sprintf("names nothing: package %s declares no %s: fix the host's RegisterFuncs (Options.RegisterFuncs)", f.pkg, what)}
		}
	}
	return nil
}
