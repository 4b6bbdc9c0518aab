package verify

import (
	"fmt"
	"go/build"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
)

// checkCgo refuses a plugin that has cgo files for the target, in its own
// package or in a package of its module that it imports, when the build
// cannot compile them.
func (t target) checkCgo(p *packages.Package) error {
	if t.cgo && t.ccFound {
		return nil
	}
	pkg, pos := t.findCgo(p)
	if pos == "" {
		return nil
	}
	where := pos
	if pkg != p.PkgPath {
		where = fmt.Sprintf("%s, in package %s that it imports", pos, pkg)
	}
	if !t.cgo {
		return refuse(p, NeedsCgo, pos, "needs cgo (import \"C\" at %s) but %s. Build the host with CGO_ENABLED=1 and a C compiler, or choose a plugin that does not use cgo", where, t.cgoWhy)
	}
	return refuse(p, NoCCompiler, pos, "needs cgo (import \"C\" at %s) and cgo is on, but the C compiler %q is not found on PATH. Install it, or set CC to a C compiler%s", where, t.cc, t.ccHint())
}

// ccHint suggests the other usual C compiler when it is installed.
func (t target) ccHint() string {
	for _, alt := range []string{"gcc", "clang"} {
		if alt != firstField(t.cc) && lookPath(alt, t.path) != "" {
			return fmt.Sprintf(" (%s is installed: CC=%s)", alt, alt)
		}
	}
	return ""
}

// findCgo returns the first cgo file for the target in p or in the
// packages of p's module that p imports, directly or not.
func (t target) findCgo(p *packages.Package) (pkg, pos string) {
	seen := map[*packages.Package]bool{}
	var visit func(q *packages.Package) bool
	visit = func(q *packages.Package) bool {
		if seen[q] || !sameModule(p, q) {
			return false
		}
		seen[q] = true
		if pos = t.cgoFile(q); pos != "" {
			pkg = q.PkgPath
			return true
		}
		for _, imp := range q.Imports {
			if visit(imp) {
				return true
			}
		}
		return false
	}
	visit(p)
	return pkg, pos
}

func sameModule(root, q *packages.Package) bool {
	if root == q {
		return true
	}
	return root.Module != nil && q.Module != nil && root.Module.Path == q.Module.Path
}

// cgoFile returns the position of the import "C" of the first file of q
// that is a cgo file for the target. With cgo off the go command lists
// such files as ignored, together with files of other platforms, so
// build constraints are matched again here with cgo on.
func (t target) cgoFile(q *packages.Package) string {
	ctxt := build.Default
	ctxt.GOOS, ctxt.GOARCH, ctxt.CgoEnabled, ctxt.BuildTags = t.goos, t.goarch, true, t.tags
	for _, f := range append(append([]string(nil), q.GoFiles...), q.IgnoredFiles...) {
		if !strings.HasSuffix(f, ".go") {
			continue
		}
		pos := importsC(f)
		if pos == "" {
			continue
		}
		if ok, err := ctxt.MatchFile(filepath.Dir(f), filepath.Base(f)); err == nil && ok {
			return pos
		}
	}
	return ""
}

// defaultCC is the C compiler the go command runs when CC is not set.
func defaultCC(goos string) string {
	switch goos {
	case "darwin", "ios", "freebsd", "openbsd":
		return "clang"
	}
	return "gcc"
}

// lookPath finds an executable like exec.LookPath, but in the PATH of the
// go command's environment rather than the process's.
func lookPath(name, path string) string {
	if name == "" {
		return ""
	}
	if strings.ContainsAny(name, `/\`) {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		return ""
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p
		}
	}
	return ""
}

// importsC returns the position of the import "C" of a Go file, or "".
func importsC(file string) string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
	if err != nil {
		return ""
	}
	for _, imp := range f.Imports {
		if imp.Path.Value == `"C"` {
			return rel(fset.Position(imp.Pos())).String()
		}
	}
	return ""
}
