package selfcompile

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/stub"
)

// next is the bundle of the binary this process last installed at the
// executable's path: a second Run in the same process starts from it, so
// it keeps the first Run's plugins.
var next struct {
	sync.Mutex
	fsys fs.FS
	info *bundle.Info
}

// checkStillRunning reports an error when the file at target is no longer
// the one this process runs (or last installed there).
func checkStillRunning(target string) error {
	want := stub.Executable()
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
		stub.SetExecutable(fi)
	}
}

// ReportRegistrations lets a host say what its plugins registered: the
// smoke report of a rebuilt binary includes fn's result. Call it from the
// init function of the package plugins register with, so that it is set
// before the smoke report is written.
func ReportRegistrations(fn func() []string) { stub.SetReport(fn) }

// registrationsNow asks the running binary's host what is registered;
// ok is false when the host did not call ReportRegistrations.
func registrationsNow() (names []string, ok bool) {
	fn := stub.Report()
	if fn == nil {
		return nil, false
	}
	if names = fn(); names == nil {
		names = []string{}
	}
	return names, true
}

// Installed returns the plugins the running binary was built with; it is
// empty for a binary that was never rebuilt or carries no bundle. Versions
// come from the binary's own build information.
func Installed() []Plugin {
	_, info, _ := stub.Bundle()
	bi, _ := debug.ReadBuildInfo()
	return stub.Plugins(info, bi)
}

// startingPlugins are the plugins of the bundle a rebuild starts from
// (see registeredBundle): the running binary's, versions from its build
// information, or, after a Run in this process installed another binary,
// that binary's, as its manifest records them. Prepare decides against
// them what is nothing to do and what cannot be removed.
func startingPlugins() []Plugin {
	next.Lock()
	info := next.info
	next.Unlock()
	if info != nil {
		return info.Plugins
	}
	return Installed()
}

// registeredBundle returns the bundle a rebuild starts from: the running
// binary's own, or that of the binary this process installed since.
func registeredBundle() (fs.FS, *bundle.Info, error) {
	fsys, info, err := stub.Bundle()
	if fsys == nil {
		return nil, nil, ErrNoBundle
	}
	next.Lock()
	defer next.Unlock()
	if next.fsys != nil {
		return next.fsys, next.info, nil
	}
	return fsys, info, err
}

// recordNextBundle records the bundle of the binary this process just
// installed: the parts that changed are read from dir into memory (a few
// MiB: source and modules), the toolchain stays the embedded one unless
// the rebuild moved to another Go (newToolchain: tens of MiB, once).
func recordNextBundle(dir string, info *bundle.Info, newToolchain bool) error {
	files := map[string][]byte{}
	changed := []string{bundle.ManifestFile, bundle.SourceFile, bundle.ModulesFile}
	if info.Slim != nil {
		changed = []string{bundle.ManifestFile, bundle.SourceFile}
	}
	if newToolchain {
		changed = append(changed, bundle.ToolchainFile)
	}
	for _, name := range changed {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		files[name] = data
	}
	base, _, _ := stub.Bundle()
	next.Lock()
	defer next.Unlock()
	next.fsys = overlayFS{base: base, files: files}
	next.info = info
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
