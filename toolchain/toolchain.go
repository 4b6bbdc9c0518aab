// Package toolchain owns the Go toolchain a host carries: which files of a
// GOROOT are enough to build programs for one platform (Files), and
// putting the bundled copy in a content-addressed cache, verified, before
// use (Install).
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
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
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

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/treeindex"
)

// Tools are the pkg/tool programs that go build needs.
var Tools = []string{"compile", "link", "asm", "cgo"}

// PGOTools are also needed when the host builds with a profile.
var PGOTools = []string{"preprofile"}

// Files lists the trimmed file set of goroot for building programs for
// goos/goarch on goos/goarch. With pgo, the profile tool is included. The
// executables (bin/go and pkg/tool/GOOS_GOARCH) are taken from bins, laid
// out as a GOROOT: goroot itself for its own platform, or where
// [BuildCommand] built them for another.
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
var Dropped = []string{"src/cmd", "src/internal/trace/traceviewer"}

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

// Keep reports whether the file rel of a whole GOROOT (slash-separated,
// e.g. "src/fmt/print.go", "pkg/tool/linux_amd64/compile") is in the
// trimmed set Files lists for goos/goarch, with the profile tool when
// pgo: how an unpacked distribution (the golang.org/toolchain module) is
// trimmed the same way.
func Keep(rel, goos, goarch string, pgo bool) bool {
	exe := ""
	if goos == "windows" {
		exe = ".exe"
	}
	switch rel {
	case "VERSION", "go.env", "bin/go" + exe:
		return true
	}
	if tool, ok := strings.CutPrefix(rel, "pkg/tool/"+goos+"_"+goarch+"/"); ok {
		name := strings.TrimSuffix(tool, exe)
		return slices.Contains(Tools, name) || (pgo && slices.Contains(PGOTools, name))
	}
	if strings.HasPrefix(rel, "pkg/include/") || strings.HasPrefix(rel, "src/") {
		return keepSource(build.Context{GOOS: goos, GOARCH: goarch, Compiler: "gc"}, rel)
	}
	return false
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
func GoBin(goroot string) string {
	exe := ""
	if filepath.Separator == '\\' {
		exe = ".exe"
	}
	return filepath.Join(goroot, "bin", "go"+exe)
}

// indexFile is the index of an installed toolchain (package
// internal/treeindex), beside its "go" tree: it is checked at every use.
const indexFile = ".selfcompile-index"

// completeMarker is written last into an installed toolchain; its content
// is the archive's sha256. A directory without it is not used.
const completeMarker = ".selfcompile-complete"

// Install makes the toolchain archive r (described by part) available under
// cacheDir and returns its GOROOT. The archive is verified against part
// while it is extracted; a mismatch leaves nothing behind. An install
// already in the cache is checked against its index first (see index.go):
// one that was altered is removed and extracted again, and repaired says
// what was wrong with it. Concurrent installs of the same toolchain are
// safe: each extracts into its own temporary directory and the first
// rename wins.
func Install(open func() (io.ReadCloser, error), part bundle.Part, cacheDir string) (goroot, repaired string, err error) {
	if len(part.SHA256) < 16 {
		return "", "", errors.New("toolchain: manifest has no sha256 for the toolchain")
	}
	root := filepath.Join(cacheDir, "toolchain", part.SHA256[:32])
	goroot = filepath.Join(root, "go")
	ok, bad, err := installed(root, part.SHA256)
	if ok {
		touch(root)
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
	goroot, err = extract(open, part, root)
	return goroot, repaired, err
}

// extract extracts the archive into root.
func extract(open func() (io.ReadCloser, error), part bundle.Part, root string) (string, error) {
	goroot := filepath.Join(root, "go")
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".extract-*")
	if err != nil {
		return "", err
	}
	defer srctree.RemoveAll(tmp)
	r, err := open()
	if err != nil {
		return "", err
	}
	err = archive.Extract(r, tmp, part)
	r.Close()
	if err != nil {
		return "", fmt.Errorf("extracting toolchain: %w", err)
	}
	return goroot, seal(tmp, root, part.SHA256)
}

// seal indexes the toolchain extracted into tmp, marks it complete with
// the checksum it was extracted from, and moves it to root.
func seal(tmp, root, sum string) error {
	if err := treeindex.Write(filepath.Join(tmp, indexFile), filepath.Join(tmp, "go"), treeindex.Options{ReadOnly: true}); err != nil {
		return fmt.Errorf("indexing the toolchain: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), []byte(sum), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, root); err != nil {
		// Another process won the race; use its copy if it is complete.
		if ok, _, err2 := installed(root, sum); ok && err2 == nil {
			return nil
		}
		return fmt.Errorf("installing toolchain: %w", err)
	}
	return nil
}

// ModulePath is the module whose versions are whole Go distributions, one
// per release and platform, on the module proxy.
const ModulePath = "golang.org/toolchain"

// ModuleVersion is the version of ModulePath that holds the distribution
// of goVersion ("go1.26.8") for goos/goarch.
func ModuleVersion(goVersion, goos, goarch string) string {
	return "v0.0.1-" + goVersion + "." + goos + "-" + goarch
}

// Installed returns the GOROOT of the toolchain with checksum sum (as
// InstallZip records it) if the cache holds it, complete and unaltered.
func Installed(cacheDir, sum string) (goroot string, ok bool) {
	root := zipRoot(cacheDir, sum)
	if ok, _, err := installed(root, sum); ok && err == nil {
		touch(root)
		return filepath.Join(root, "go"), true
	}
	return "", false
}

func zipRoot(cacheDir, sum string) string {
	h := sha256.Sum256([]byte(sum))
	return filepath.Join(cacheDir, "toolchain", "m"+hex.EncodeToString(h[:])[:31])
}

// InstallZip installs, under cacheDir, the toolchain for goos/goarch from
// the zip of a golang.org/toolchain module version (the whole
// distribution), which must have the h1: checksum sum (x/mod's
// dirhash.HashZip, as go.sum and the checksum database record it): only
// the files Keep keeps are extracted, go.mod files that the module renamed
// _go.mod get their names back, and the executables their mode. It is
// checked and indexed like an Install, and reused the same way.
func InstallZip(zipFile, sum, goos, goarch, cacheDir string) (goroot string, err error) {
	root := zipRoot(cacheDir, sum)
	goroot = filepath.Join(root, "go")
	ok, bad, err := installed(root, sum)
	if ok {
		touch(root)
	}
	if err != nil || ok {
		return goroot, err
	}
	if len(bad) > 0 {
		if err := srctree.RemoveAll(root); err != nil {
			return "", err
		}
	}
	got, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		return "", fmt.Errorf("hashing the toolchain module: %w", err)
	}
	if got != sum {
		return "", fmt.Errorf("checksum mismatch: the %s/%s toolchain module has %s, but the bundle recorded %s: it is not the toolchain the bundle was made with", goos, goarch, got, sum)
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".extract-*")
	if err != nil {
		return "", err
	}
	defer srctree.RemoveAll(tmp)
	if err := unzipTrimmed(zipFile, filepath.Join(tmp, "go"), goos, goarch); err != nil {
		return "", fmt.Errorf("extracting the toolchain module: %w", err)
	}
	return goroot, seal(tmp, root, sum)
}

// unzipTrimmed extracts what Keep keeps of a toolchain module zip (whose
// files all lie under one "golang.org/toolchain@VERSION/" directory) into
// dir. The executables (bin/, pkg/tool/) get mode 0755: a module zip
// records no modes.
func unzipTrimmed(zipFile, dir, goos, goarch string) error {
	zr, err := zip.OpenReader(zipFile)
	if err != nil {
		return err
	}
	defer zr.Close()
	n := 0
	for _, f := range zr.File {
		_, versioned, ok1 := strings.Cut(f.Name, ModulePath+"@")
		_, rel, ok2 := strings.Cut(versioned, "/")
		if !ok1 || !ok2 || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if path.Base(rel) == "_go.mod" && strings.HasPrefix(rel, "src/") {
			rel = path.Join(path.Dir(rel), "go.mod")
		}
		if !Keep(rel, goos, goarch, true) {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(rel))
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("%s: a path outside the module", f.Name)
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(rel, "bin/") || strings.HasPrefix(rel, "pkg/tool/") {
			mode = 0o755
		}
		if err := writeZipFile(f, target, mode); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no %s/%s toolchain files in %s", goos, goarch, zipFile)
	}
	return nil
}

func writeZipFile(f *zip.File, target string, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// installed reports whether root holds a complete install of the archive
// whose checksum is want (the part's sha256, or a module's h1: sum) whose
// files match its index; bad lists what does not match. A leftover of an
// interrupted install is removed.
func installed(root string, want string) (ok bool, bad []string, err error) {
	data, err := os.ReadFile(filepath.Join(root, completeMarker))
	if errors.Is(err, fs.ErrNotExist) {
		if exists(root) {
			// Incomplete leftover of an interrupted install: replace it.
			return false, nil, srctree.RemoveAll(root)
		}
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	if strings.TrimSpace(string(data)) != want {
		return false, nil, fmt.Errorf("toolchain cache %s holds %s, want %s: remove the directory", root, data, want)
	}
	bad, err = treeindex.Check(filepath.Join(root, indexFile), filepath.Join(root, "go"), treeindex.Options{})
	return err == nil && len(bad) == 0, bad, err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// StaleAfter is how long an installed toolchain that no rebuild used stays
// in the cache: a toolchain is used by every rebuild of a binary that
// carries it, so one unused this long belongs to binaries that are gone or
// were rebuilt with another Go.
const StaleAfter = 30 * 24 * time.Hour

// Prune removes from cacheDir the installed toolchains last used before
// cutoff, other than the one at goroot, and leftovers of interrupted
// installs older than a day. It returns what it removed. A failure to
// remove one is not an error: the next rebuild tries again.
func Prune(cacheDir, goroot string, cutoff time.Time) []string {
	dir := filepath.Join(cacheDir, "toolchain")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	keep := filepath.Dir(goroot)
	var removed []string
	for _, e := range entries {
		root := filepath.Join(dir, e.Name())
		if !e.IsDir() || root == keep {
			continue
		}
		last := cutoff // an entry without a marker is a leftover
		if strings.HasPrefix(e.Name(), ".extract-") {
			last = time.Now().Add(-24 * time.Hour)
		}
		fi, err := os.Stat(filepath.Join(root, completeMarker))
		if err != nil {
			if fi, err = os.Stat(root); err != nil {
				continue
			}
		}
		if !fi.ModTime().Before(last) {
			continue
		}
		if srctree.RemoveAll(root) == nil {
			removed = append(removed, root)
		}
	}
	return removed
}

// touch records that the toolchain at root was used now.
func touch(root string) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(root, completeMarker), now, now)
}
