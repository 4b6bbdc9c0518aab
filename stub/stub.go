// Package stub is what the selfcompile_bundle.go file that go-selfcompile
// bundle generates in a program's package main calls from its init
// function: it records the bundle the binary carries, for package
// selfcompile to rebuild from, and answers the smoke protocol (package
// smoke). Programs do not call it; package selfcompile reads what it
// recorded.
package stub

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/smoke"
)

var registered struct {
	sync.Mutex
	fsys   fs.FS
	info   *bundle.Info
	err    error
	report func() []string
	exe    os.FileInfo
}

// Register records the bundle fsys that info describes. When the binary
// was started under the smoke protocol (package smoke), it writes the
// smoke report to stdout and returns exit true with the code the process
// must exit with: the generated file exits, after every package's init
// has run and before the program's main.
func Register(fsys fs.FS, info bundle.Info) (code int, exit bool) {
	var err error
	switch {
	case info.Format != bundle.FormatVersion:
		err = fmt.Errorf("the bundle has format %d, this version of go-selfcompile reads %d: run go generate again with the go-selfcompile version the program links", info.Format, bundle.FormatVersion)
	case info.Platforms != nil && info.GOOS == "":
		err = fmt.Errorf("this binary (%s/%s) carries no toolchain for its platform: its bundle was generated for %s; add %s/%s to go-selfcompile bundle -platforms and build it again",
			runtime.GOOS, runtime.GOARCH, strings.Join(info.Platforms, ", "), runtime.GOOS, runtime.GOARCH)
	case info.Platforms != nil:
		fsys = platformFS{fsys, info.GOOS, info.GOARCH}
	}
	registered.Lock()
	registered.fsys, registered.info, registered.err = fsys, &info, err
	report := registered.report
	registered.Unlock()
	if nonce, ok := smoke.Requested(); ok {
		return smokeReport(nonce, &info, err, report), true
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			SetExecutable(fi)
		}
	}
	return 0, false
}

// Bundle returns the registered bundle, its Info, and why it cannot be
// rebuilt from, if it cannot; a nil fs.FS when none was registered.
func Bundle() (fs.FS, *bundle.Info, error) {
	registered.Lock()
	defer registered.Unlock()
	return registered.fsys, registered.info, registered.err
}

// Executable is the executable file as it was when the bundle
// registered, or as SetExecutable last recorded it; nil when unknown.
func Executable() os.FileInfo {
	registered.Lock()
	defer registered.Unlock()
	return registered.exe
}

// SetExecutable records fi as the executable file: the one a rebuild
// must start from.
func SetExecutable(fi os.FileInfo) {
	registered.Lock()
	registered.exe = fi
	registered.Unlock()
}

// SetReport sets what reports the names registered, for the smoke report
// (see selfcompile.ReportRegistrations).
func SetReport(fn func() []string) {
	registered.Lock()
	registered.report = fn
	registered.Unlock()
}

// Report is the function SetReport set, or nil.
func Report() func() []string {
	registered.Lock()
	defer registered.Unlock()
	return registered.report
}

// Plugins returns the plugins of the bundle info describes, at the
// versions the build information bi gives their modules.
func Plugins(info *bundle.Info, bi *debug.BuildInfo) []bundle.Plugin {
	if info == nil {
		return nil
	}
	linked := map[string]string{}
	if bi != nil {
		for _, d := range bi.Deps {
			linked[d.Path] = d.Version
		}
	}
	var out []bundle.Plugin
	for _, p := range info.Plugins {
		pl := p
		if v, ok := linked[p.Module]; ok {
			pl.Version = v
		}
		out = append(out, pl)
	}
	return out
}

// smokeReport writes the smoke report and returns the exit code.
func smokeReport(nonce string, info *bundle.Info, err error, report func() []string) int {
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-selfcompile: smoke: %v\n", err)
		return 1
	}
	rep := smoke.Report{Nonce: nonce}
	bi, _ := debug.ReadBuildInfo()
	if bi != nil {
		rep.GoVersion = bi.GoVersion
	}
	for _, p := range Plugins(info, bi) {
		rep.Plugins = append(rep.Plugins, bundle.Plugin{Path: p.Path, Version: p.Version})
	}
	if report != nil {
		rep.Registered = report()
	}
	if err := smoke.Write(os.Stdout, rep); err != nil {
		fmt.Fprintf(os.Stderr, "go-selfcompile: smoke: %v\n", err)
		return 1
	}
	return 0
}

// platformFS serves the files of one platform of a bundle generated for
// several under the names of a single-platform bundle.
type platformFS struct {
	fs.FS
	goos, goarch string
}

func (p platformFS) Open(name string) (fs.File, error) {
	return p.FS.Open(bundle.PlatformFile(name, p.goos, p.goarch))
}
