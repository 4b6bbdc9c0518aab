package selfcompile

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/smoke"
)

var registered struct {
	sync.Mutex
	fsys   fs.FS
	info   *BundleInfo
	err    error
	report func() []string
	// exe is the executable file as it was when the bundle registered
	// (during init), or as this process last replaced it: a rebuild must
	// start from the file this process is, not from one another rebuild
	// put at the path meanwhile.
	exe os.FileInfo
	// next is the bundle of the binary this process last installed at the
	// executable's path: a second Run in the same process starts from it,
	// so it keeps the first Run's plugins.
	next     fs.FS
	nextInfo *BundleInfo
}

// BundleInfo is what the bundle a binary carries holds, as the generated
// selfcompile_bundle.go file passes it to RegisterBundle: the facts of the
// bundle's manifest a host needs, as Go values, so that it parses nothing.
type BundleInfo struct {
	// Format is the bundle format the generator wrote.
	Format int
	// GoVersion, GOOS and GOARCH are those of the bundled toolchain.
	GoVersion, GOOS, GOARCH string
	// MainPackage is the import path of the program's main package.
	MainPackage string
	// Plugins are the plugins the binary was built with.
	Plugins []Plugin
	// Platforms are every platform ("linux/arm64") of a bundle generated
	// for several (bundle -platforms), whose per-platform files are named
	// by bundle.PlatformFile; nil for a bundle of one platform. A binary
	// built for a platform the bundle lacks registers Platforms with no
	// GOOS and GOARCH, and refuses to rebuild.
	Platforms []string
	// Slim is set for a slim bundle (bundle -slim), which carries only the
	// host's source: a rebuild fetches the toolchain and the modules
	// through GOPROXY, and builds the helper.
	Slim *bundle.Fetch
}

// RegisterBundle is called by the generated selfcompile_bundle.go file from
// its init function; programs do not call it. It records the bundle. When
// the binary was started under the smoke protocol (package smoke), it
// writes the smoke report to stdout and returns exit true with the code
// the process must exit with: the stub exits, after every package's init
// has run and before the host's main.
func RegisterBundle(fsys fs.FS, info BundleInfo) (code int, exit bool) {
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
			registered.Lock()
			registered.exe = fi
			registered.Unlock()
		}
	}
	return 0, false
}

// checkStillRunning reports an error when the file at target is no longer
// the one this process runs (or last installed there).
func checkStillRunning(target string) error {
	registered.Lock()
	want := registered.exe
	registered.Unlock()
	if want == nil {
		return nil // could not be recorded at start; nothing to compare
	}
	fi, err := os.Stat(target)
	if err != nil {
		return err
	}
	if !os.SameFile(fi, want) {
		return fmt.Errorf("%s was replaced by another rebuild while this one waited: run the new binary to rebuild again", target)
	}
	return nil
}

// recordExecutable records the file this process just put at target.
func recordExecutable(target string) {
	if fi, err := os.Stat(target); err == nil {
		registered.Lock()
		registered.exe = fi
		registered.Unlock()
	}
}

// ReportRegistrations lets a host say what its plugins registered: the
// smoke report of a rebuilt binary includes fn's result. Call it from the
// init function of the package plugins register with, so that it is set
// before the smoke report is written.
func ReportRegistrations(fn func() []string) {
	registered.Lock()
	registered.report = fn
	registered.Unlock()
}

// registrationsNow asks the running binary's host what is registered;
// ok is false when the host did not call ReportRegistrations.
func registrationsNow() (names []string, ok bool) {
	registered.Lock()
	fn := registered.report
	registered.Unlock()
	if fn == nil {
		return nil, false
	}
	if names = fn(); names == nil {
		names = []string{}
	}
	return names, true
}

// smokeReport writes the smoke report and returns the exit code.
func smokeReport(nonce string, m *BundleInfo, err error, report func() []string) int {
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-selfcompile: smoke: %v\n", err)
		return 1
	}
	rep := smoke.Report{Nonce: nonce}
	bi, _ := debug.ReadBuildInfo()
	if bi != nil {
		rep.GoVersion = bi.GoVersion
	}
	for _, p := range pluginsOf(m, bi) {
		rep.Plugins = append(rep.Plugins, Plugin{Path: p.Path, Version: p.Version})
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

// Installed returns the plugins the running binary was built with; it is
// empty for a binary that was never rebuilt or carries no bundle. Versions
// come from the binary's own build information.
func Installed() []Plugin {
	registered.Lock()
	m := registered.info
	registered.Unlock()
	bi, _ := debug.ReadBuildInfo()
	return pluginsOf(m, bi)
}

// pluginsOf returns the plugins of the bundle m, at the versions the
// build information bi gives their modules.
func pluginsOf(m *BundleInfo, bi *debug.BuildInfo) []Plugin {
	if m == nil {
		return nil
	}
	linked := map[string]string{}
	if bi != nil {
		for _, d := range bi.Deps {
			linked[d.Path] = d.Version
		}
	}
	var out []Plugin
	for _, p := range m.Plugins {
		pl := p
		if v, ok := linked[p.Module]; ok {
			pl.Version = v
		}
		out = append(out, pl)
	}
	return out
}

// startingPlugins are the plugins of the bundle a rebuild starts from
// (see registeredBundle): the running binary's, versions from its build
// information, or, after a Run in this process installed another binary,
// that binary's, as its manifest records them. Prepare decides against
// them what is nothing to do and what cannot be removed.
func startingPlugins() []Plugin {
	registered.Lock()
	next := registered.nextInfo
	registered.Unlock()
	if next != nil {
		return next.Plugins
	}
	return Installed()
}

// registeredBundle returns the bundle a rebuild starts from: the running
// binary's own, or that of the binary this process installed since.
func registeredBundle() (fs.FS, *BundleInfo, error) {
	registered.Lock()
	defer registered.Unlock()
	if registered.fsys == nil {
		return nil, nil, ErrNoBundle
	}
	if registered.next != nil {
		return registered.next, registered.nextInfo, nil
	}
	return registered.fsys, registered.info, registered.err
}

// recordNextBundle records the bundle of the binary this process just
// installed: the parts that changed are read from dir into memory (a few
// MiB: source and modules), the toolchain stays the embedded one.
func recordNextBundle(dir string, info *BundleInfo) error {
	files := map[string][]byte{}
	changed := []string{bundle.ManifestFile, bundle.SourceFile, bundle.ModulesFile}
	if info.Slim != nil {
		changed = []string{bundle.ManifestFile, bundle.SourceFile}
	}
	for _, name := range changed {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		files[name] = data
	}
	registered.Lock()
	defer registered.Unlock()
	registered.next = overlayFS{base: registered.fsys, files: files}
	registered.nextInfo = info
	return nil
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

// overlayFS serves some files from memory and the rest from base.
type overlayFS struct {
	base  fs.FS
	files map[string][]byte
}

func (o overlayFS) Open(name string) (fs.File, error) {
	data, ok := o.files[name]
	if !ok {
		return o.base.Open(name)
	}
	return &memFile{Reader: bytes.NewReader(data), name: name, size: int64(len(data))}, nil
}

// memFile is an open file of an overlayFS.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f.name, f.size}, nil }
func (f *memFile) Close() error               { return nil }

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return path.Base(i.name) }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
