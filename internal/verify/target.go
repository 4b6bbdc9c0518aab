package verify

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// target is the platform and cgo setting of the build, read from
// Config.Env and Config.BuildFlags the way the go command reads them.
type target struct {
	goos, goarch string
	tags         []string
	cgo          bool   // whether the build compiles cgo files
	cgoWhy       string // why cgo is off, for messages
	cc           string // the C compiler the go command would run
	ccFound      bool
	path         string // PATH the go command searches
}

func newTarget(cfg Config) target {
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	t := target{
		goos:   envOr(env, "GOOS", runtime.GOOS),
		goarch: envOr(env, "GOARCH", runtime.GOARCH),
		tags:   buildTags(cfg.BuildFlags),
		path:   envOr(env, "PATH", os.Getenv("PATH")),
	}
	t.cc = envOr(env, "CC", defaultCC(t.goos))
	t.ccFound = lookPath(firstField(t.cc), t.path) != ""
	t.cgo, t.cgoWhy = t.cgoSetting(env)
	return t
}

// CCompiler returns the C compiler the go command would run for a build
// with environment env (CC, or the target platform's default) and whether
// it is on env's PATH.
func CCompiler(env []string) (cc string, found bool) {
	t := newTarget(Config{Env: env})
	return t.cc, t.ccFound
}

// cgoSetting mirrors the go command: CGO_ENABLED when set, otherwise on
// for a native build that finds its C compiler.
func (t target) cgoSetting(env []string) (bool, string) {
	switch v, _ := gocmd.Lookup(env, "CGO_ENABLED"); v {
	case "1":
		return true, ""
	case "0":
		return false, "the host is built with CGO_ENABLED=0"
	}
	if t.goos != runtime.GOOS || t.goarch != runtime.GOARCH {
		return false, fmt.Sprintf("cgo is off by default when building for %s/%s on %s/%s", t.goos, t.goarch, runtime.GOOS, runtime.GOARCH)
	}
	if !t.ccFound {
		return false, fmt.Sprintf("cgo is off by default because the C compiler %q is not on PATH", t.cc)
	}
	return true, ""
}

func (t target) String() string {
	s := t.goos + "/" + t.goarch
	if len(t.tags) > 0 {
		s += " with tags " + strings.Join(t.tags, ",")
	}
	return s
}

// checkPackage runs the checks that need no type information: cgo,
// existence, files for the target, package main.
func (t target) checkPackage(path string, p *packages.Package) error {
	if p == nil {
		return notLoaded(path)
	}
	if err := t.checkCgo(p); err != nil {
		return err
	}
	if err := t.checkExists(p); err != nil {
		return err
	}
	if p.Name == "main" {
		pos := packageClause(p)
		return refuse(p, IsCommand, pos, "is package main (%s), a command, not a plugin: give the import path of the package that registers itself in init, not of a program", pos)
	}
	return nil
}

func notLoaded(path string) error {
	return &PluginError{Plugin: path, Reason: NotFound, Msg: "was not loaded by the go command: check that the path is an import path, not a directory or a pattern"}
}

// checkExists refuses a package the go command reports as missing or
// without files for the target.
func (t target) checkExists(p *packages.Package) error {
	if len(p.GoFiles) > 0 {
		return nil
	}
	msg := "" // go/packages drops the go command's "no Go files" errors
	for _, e := range p.Errors {
		if e.Kind == packages.ListError {
			msg = firstLine(e.Msg)
			break
		}
	}
	switch {
	case strings.Contains(msg, "build constraints exclude") || (len(p.IgnoredFiles) > 0 && len(p.Errors) == 0):
		return refuse(p, NoFiles, "", "has no Go files for %s: build constraints exclude every file (%d ignored). Choose a version of the plugin that supports this platform, or build the host with the tags the plugin needs", t, len(p.IgnoredFiles))
	case msg == "" || strings.Contains(msg, "no Go files") || strings.Contains(msg, "no non-test Go files"):
		return refuse(p, NoFiles, "", "has no Go files to build%s. Give the import path of the package that holds the plugin's code", parenthesised(relPaths(msg)))
	}
	return refuse(p, NotFound, "", "does not exist at this version: %s. Check the import path, and that this version of its module contains the package", msg)
}

func parenthesised(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// relPaths shortens the absolute paths in a message of the go command.
func relPaths(msg string) string {
	words := strings.Fields(msg)
	for i, w := range words {
		if filepath.IsAbs(w) {
			words[i] = relPos(w)
		}
	}
	return strings.Join(words, " ")
}

// refuse builds the PluginError for p.
func refuse(p *packages.Package, why Reason, pos string, format string, args ...any) *PluginError {
	e := &PluginError{Plugin: p.PkgPath, Reason: why, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	e.Version = moduleVersion(p)
	return e
}

// moduleVersion is the version of p's module as people know it: none for
// a module replaced by a directory (its required version is a placeholder).
func moduleVersion(p *packages.Package) string {
	if p.Module == nil || (p.Module.Replace != nil && p.Module.Replace.Version == "") {
		return ""
	}
	return p.Module.Version
}

// packageClause is the position of the package clause of p's first file.
func packageClause(p *packages.Package) string {
	if len(p.GoFiles) == 0 {
		return ""
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, p.GoFiles[0], nil, parser.PackageClauseOnly)
	if err != nil {
		return relPos(p.GoFiles[0])
	}
	return rel(fset.Position(f.Package)).String()
}

// buildTags returns the tags of the last -tags flag in flags ("-tags=a,b",
// "--tags=a,b" or "-tags" "a,b"; old space-separated lists too).
func buildTags(flags []string) []string {
	var val string
	for i, flag := range flags {
		if !strings.HasPrefix(flag, "-") {
			continue
		}
		name, v, hasVal := strings.Cut(strings.TrimLeft(flag, "-"), "=")
		switch {
		case name != "tags":
		case hasVal:
			val = v
		case i+1 < len(flags):
			val = flags[i+1]
		}
	}
	return strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' })
}

// envOr returns the value of key in env when it is set and not empty, or def.
func envOr(env []string, key, def string) string {
	if v, _ := gocmd.Lookup(env, key); v != "" {
		return v
	}
	return def
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
