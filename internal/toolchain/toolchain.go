// Package toolchain owns the Go toolchain a host carries: which files of a
// GOROOT are enough to build programs for one platform (Files), and
// putting the bundled copy in the content-addressed toolchain cache
// (package internal/tcache), verified, before use (Install).
//
// The trimmed set is VERSION, go.env, bin/go, pkg/include, the compile,
// link, asm and cgo tools (and preprofile for PGO builds), and src/
// without:
//
//   - src/cmd, and src/internal/trace/traceviewer (the trace viewer's
//     2.6 MB page, imported only by cmd/trace): no program's build
//     imports them;
//   - _test.go files and testdata directories: builds never read them;
//   - Go, assembly and .syso files named for another platform
//     (os_windows.go, asm_arm64.s, race_darwin_arm64.syso,
//     goboringcrypto_linux_arm64.syso): the go command decides by the
//     name alone, before opening them, that a build for this platform
//     does not use them. Headers and C files are kept whatever their
//     names, since other files #include them.
//
// What stays is everything a go build, go list or go/packages load of any
// program for the platform may read, with cgo, -race, -trimpath, PGO,
// GOAMD64 levels or GOEXPERIMENT=boringcrypto; the tests check it against
// go list of std and the e2e suite builds with it. Go no longer ships
// compiled standard packages; the bundled go command compiles them into
// its build cache on first use.
package toolchain

import (
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/tcache"
	"github.com/selfcompile/go-selfcompile/internal/treeindex"
)

// Tools are the pkg/tool programs that go build needs.
var Tools = tcache.Tools

// PGOTools are also needed when the host builds with a profile.
var PGOTools = tcache.PGOTools

// Files lists the trimmed file set of goroot for building programs for
// goos/goarch on goos/goarch. With pgo, the profile tool is included. The
// executables (bin/go and pkg/tool/GOOS_GOARCH) are taken from bins, laid
// out as a GOROOT: goroot itself for its own platform, or a directory
// holding another platform's executables built from goroot's source.
func Files(goroot, bins, goos, goarch string, pgo bool) ([]bundle.Entry, error) {
	exe := ""
	if goos == "windows" {
		exe = ".exe"
	}
	var out []bundle.Entry
	add := func(name string) error {
		root := goroot
		if strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "pkg/tool/") {
			root = bins
		}
		src := filepath.Join(root, filepath.FromSlash(name))
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("toolchain file missing: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("toolchain file %s is not a regular file", src)
		}
		out = append(out, bundle.Entry{Name: "go/" + name, Src: src})
		return nil
	}
	for _, f := range []string{"VERSION", "go.env", "bin/go" + exe} {
		if err := add(f); err != nil {
			return nil, err
		}
	}
	tools := Tools
	if pgo {
		tools = append(append([]string(nil), Tools...), PGOTools...)
	}
	for _, t := range tools {
		if err := add(path.Join("pkg/tool", goos+"_"+goarch, t+exe)); err != nil {
			return nil, err
		}
	}
	src, err := SourceFiles(goroot, goos, goarch)
	if err != nil {
		return nil, err
	}
	return append(out, src...), nil
}

// Dropped lists the directories of GOROOT, slash-separated, that no build
// of a program reads and that Files leaves out besides src/cmd, tests and
// testdata. The trace viewer (its 2.6 MB page and the Go code that serves
// it) is imported only by cmd/trace, and a program outside std cannot
// import std's internal packages.
var Dropped = tcache.Dropped

// SourceFiles lists the platform-independent part of Files: pkg/include
// and src, without the directories of Dropped, testdata directories,
// _test.go files, and the Go, assembly and .syso files whose names say they
// are for another platform (see platformExts). It needs no pkg/tool binaries, so it also lists what another
// platform's toolchain would carry.
func SourceFiles(goroot, goos, goarch string) ([]bundle.Entry, error) {
	ctxt := build.Context{GOOS: goos, GOARCH: goarch, Compiler: "gc"}
	var out []bundle.Entry
	for _, dir := range []string{"pkg/include", "src"} {
		err := filepath.WalkDir(filepath.Join(goroot, filepath.FromSlash(dir)), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(goroot, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				if slices.Contains(Dropped, rel) || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !keepSource(ctxt, rel) {
				return nil
			}
			out = append(out, bundle.Entry{Name: "go/" + rel, Src: p})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// keepSource reports whether the file rel of a GOROOT's pkg/include or
// src (slash-separated) is in the set SourceFiles lists for ctxt.
func keepSource(ctxt build.Context, rel string) bool {
	for _, dir := range Dropped {
		if strings.HasPrefix(rel, dir+"/") {
			return false
		}
	}
	if strings.Contains("/"+rel, "/testdata/") || strings.HasSuffix(rel, "_test.go") {
		return false
	}
	return forPlatform(ctxt, path.Base(rel))
}

// platformExts are the files whose names the go command matches against
// the target platform before it opens them: a Go, assembly or object file
// named for another GOOS or GOARCH (os_windows.go, asm_arm64.s,
// race_linux_arm64.syso, goboringcrypto_linux_amd64.syso) is never read by
// a build for this one. C files and headers are kept whatever their names:
// assembly and C include headers named for a platform (time_windows.h,
// cgo/abi_arm64.h), and they are small.
var platformExts = []string{".go", ".s", ".syso"}

// forPlatform reports whether a build for ctxt can read the file name: its
// extension is not one of platformExts, or its name carries no other
// platform, by the go command's own rule (go/build), which also maps
// android to linux, ios to darwin and illumos to solaris, and knows
// every GOOS and GOARCH of the Go release that built this code.
func forPlatform(ctxt build.Context, name string) bool {
	ext := path.Ext(name)
	if !slices.Contains(platformExts, ext) || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
		return true
	}
	// MatchFile opens .go files to read their build constraints; for a
	// .syso file it decides by the name alone, which is the same rule.
	ok, err := ctxt.MatchFile("", strings.TrimSuffix(name, ext)+".syso")
	return ok || err != nil
}

// GoBin returns the go command inside an installed toolchain root.
func GoBin(goroot string) string { return tcache.GoBin(goroot) }

// ModulePath is the module whose versions are whole Go distributions, one
// per release and platform, on the module proxy.
const ModulePath = tcache.ModulePath

// ModuleVersion is the version of ModulePath that holds the distribution
// of goVersion ("go1.26.8") for goos/goarch.
func ModuleVersion(goVersion, goos, goarch string) string {
	return "v0.0.1-" + goVersion + "." + goos + "-" + goarch
}

// StaleAfter is how long an installed toolchain that no rebuild used stays
// in the cache: a toolchain is used by every rebuild of a binary that
// carries it, so one unused this long belongs to binaries that are gone or
// were rebuilt with another Go.
const StaleAfter = 30 * 24 * time.Hour

// Prune removes from cacheDir the installed toolchains last used before
// cutoff, other than the one at goroot; see tcache.Prune.
func Prune(cacheDir, goroot string, cutoff time.Time) []string {
	return tcache.Prune(cacheDir, goroot, cutoff)
}

// Install makes the toolchain archive r (described by part) available under
// cacheDir and returns its GOROOT. The archive is verified against part
// while it is extracted; a mismatch leaves nothing behind. An install
// already in the cache is checked against its index first (package
// internal/tcache): one that was altered is removed and extracted again,
// and repaired says what was wrong with it. Concurrent installs of the
// same toolchain are safe: each extracts into its own temporary directory
// and the first rename wins.
func Install(open func() (io.ReadCloser, error), part bundle.Part, cacheDir string) (goroot, repaired string, err error) {
	if len(part.SHA256) < 16 {
		return "", "", errors.New("toolchain: manifest has no sha256 for the toolchain")
	}
	root := filepath.Join(cacheDir, "toolchain", part.SHA256[:32])
	goroot = filepath.Join(root, "go")
	ok, bad, err := tcache.Lookup(root, part.SHA256)
	if ok {
		tcache.Touch(root)
	}
	if err != nil || ok {
		return goroot, "", err
	}
	if len(bad) > 0 {
		repaired = fmt.Sprintf("the toolchain in the cache (%s) was altered since it was extracted: %s; extracted it again", root, treeindex.Brief(bad))
		if err := srctree.RemoveAll(root); err != nil {
			return "", "", fmt.Errorf("%s, and removing it failed: %w", repaired, err)
		}
	}
	err = tcache.Fill(root, part.SHA256, func(dir string) error {
		r, err := open()
		if err != nil {
			return err
		}
		defer r.Close()
		if err := archive.Extract(r, dir, part); err != nil {
			return fmt.Errorf("extracting toolchain: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return goroot, repaired, nil
}
