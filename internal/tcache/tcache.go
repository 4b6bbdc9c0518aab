// Package tcache owns the toolchain cache: installed GOROOTs under
// CACHE/toolchain, each extracted into a temporary directory, indexed
// (internal/treeindex), marked complete with the checksum it came from,
// renamed into place, checked against its index at every use, and pruned
// when unused. Package toolchain fills it from a bundle's toolchain part;
// InstallZip fills it from a golang.org/toolchain module zip (slim
// bundles). It imports neither go/build nor a zstd decoder, so that a
// slim host, which links it, stays small.
package tcache

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/selfcompile/go-selfcompile/internal/safedir"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/treeindex"
)

// Tools are the pkg/tool programs that go build needs.
var Tools = []string{"compile", "link", "asm", "cgo"}

// PGOTools are also needed when the host builds with a profile.
var PGOTools = []string{"preprofile"}

// Dropped lists the directories of GOROOT, slash-separated, that no build
// of a program reads, besides tests and testdata. The trace viewer (its
// 2.6 MB page and the Go code that serves it) is imported only by
// cmd/trace, and a program outside std cannot import std's internal
// packages.
var Dropped = []string{"src/cmd", "src/internal/trace/traceviewer"}

// ModulePath is the module whose versions are whole Go distributions, one
// per release and platform, on the module proxy.
const ModulePath = "golang.org/toolchain"

// GoBin returns the go command inside an installed toolchain root.
func GoBin(goroot string) string {
	exe := ""
	if filepath.Separator == '\\' {
		exe = ".exe"
	}
	return filepath.Join(goroot, "bin", "go"+exe)
}

// IndexFile is the index of an installed toolchain, beside its "go" tree:
// it is checked at every use.
const IndexFile = ".selfcompile-index"

// CompleteMarker is written last into an installed toolchain; its content
// is the checksum it was installed from. A directory without it is not
// used.
const CompleteMarker = ".selfcompile-complete"

// Lookup reports whether root holds a complete install of the archive
// whose checksum is want (a part's sha256, or a module's h1: sum) whose
// files match its index; bad lists what does not match. A leftover of an
// interrupted install is removed. An install that another user owns, or
// may write to, is an error (package safedir): its index could be theirs.
func Lookup(root, want string) (ok bool, bad []string, err error) {
	marker := filepath.Join(root, CompleteMarker)
	if err := errors.Join(safedir.Owned(root), safedir.Owned(marker)); err != nil {
		return false, nil, err
	}
	data, err := os.ReadFile(marker)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(root); err == nil {
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
	bad, err = treeindex.Check(filepath.Join(root, IndexFile), filepath.Join(root, "go"), treeindex.Options{})
	return err == nil && len(bad) == 0, bad, err
}

// Fill installs a toolchain at root: fill writes the GOROOT tree into the
// directory it is given (a fresh temporary one beside root, named "go"'s
// parent), which is then indexed read-only, marked complete with sum and
// renamed to root. If another process installed root meanwhile, its copy
// is used when complete.
func Fill(root, sum string, fill func(dir string) error) error {
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".extract-*")
	if err != nil {
		return err
	}
	defer srctree.RemoveAll(tmp)
	if err := fill(tmp); err != nil {
		return err
	}
	if err := treeindex.Write(filepath.Join(tmp, IndexFile), filepath.Join(tmp, "go"), treeindex.Options{ReadOnly: true}); err != nil {
		return fmt.Errorf("indexing the toolchain: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, CompleteMarker), []byte(sum), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, root); err != nil {
		// Another process won the race; use its copy if it is complete.
		if ok, _, err2 := Lookup(root, sum); ok && err2 == nil {
			return nil
		}
		return fmt.Errorf("installing toolchain: %w", err)
	}
	return nil
}

// zipRoot is where the toolchain of the module zip with checksum sum is
// installed.
func zipRoot(cacheDir, sum string) string {
	h := sha256.Sum256([]byte(sum))
	return filepath.Join(cacheDir, "toolchain", "m"+hex.EncodeToString(h[:])[:31])
}

// Installed returns the GOROOT of the toolchain with checksum sum (as
// InstallZip records it) if the cache holds it, complete and unaltered.
func Installed(cacheDir, sum string) (goroot string, ok bool) {
	root := zipRoot(cacheDir, sum)
	if ok, _, err := Lookup(root, sum); ok && err == nil {
		Touch(root)
		return filepath.Join(root, "go"), true
	}
	return "", false
}

// InstallZip installs, under cacheDir, the toolchain for goos/goarch from
// the zip of a golang.org/toolchain module version (a whole
// distribution), which must have the h1: checksum sum (x/mod's
// dirhash.HashZip, as go.sum and the checksum database record it). It
// extracts what KeepFromZip keeps, gives the go.mod files the module
// renamed _go.mod their names back and the executables their mode. It is
// checked and reused like any install: an altered one is extracted anew.
func InstallZip(zipFile, sum, goos, goarch, cacheDir string) (goroot string, err error) {
	root := zipRoot(cacheDir, sum)
	goroot = filepath.Join(root, "go")
	ok, bad, err := Lookup(root, sum)
	if ok {
		Touch(root)
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
	return goroot, Fill(root, sum, func(dir string) error {
		if err := unzip(zipFile, filepath.Join(dir, "go"), goos, goarch); err != nil {
			return fmt.Errorf("extracting the toolchain module: %w", err)
		}
		return nil
	})
}

// KeepFromZip reports whether a rebuild for goos/goarch needs the file
// rel (slash-separated) of a distribution: VERSION, go.env, the go
// command, the platform's Tools and PGOTools, pkg/include and src without
// Dropped, tests and testdata. (Package toolchain's set for a bundle also
// drops the other platforms' files by go/build's name rule; this one
// keeps them, at some disk space, so that a slim host links no go/build.)
func KeepFromZip(rel, goos, goarch string) bool {
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
		return slices.Contains(Tools, name) || slices.Contains(PGOTools, name)
	}
	if !strings.HasPrefix(rel, "pkg/include/") && !strings.HasPrefix(rel, "src/") {
		return false
	}
	for _, dir := range Dropped {
		if strings.HasPrefix(rel, dir+"/") {
			return false
		}
	}
	return !strings.Contains("/"+rel, "/testdata/") && !strings.HasSuffix(rel, "_test.go")
}

// unzip extracts what KeepFromZip keeps of a toolchain module zip (whose
// files all lie under one "golang.org/toolchain@VERSION/" directory) into
// dir. The executables (bin/, pkg/tool/) get mode 0755: a module zip
// records no modes.
func unzip(zipFile, dir, goos, goarch string) error {
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
		if !KeepFromZip(rel, goos, goarch) {
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("%s: a path outside the module", f.Name)
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(rel, "bin/") || strings.HasPrefix(rel, "pkg/tool/") {
			mode = 0o755
		}
		if err := writeZipFile(f, filepath.Join(dir, filepath.FromSlash(rel)), mode); err != nil {
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
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	return srctree.WriteFile(target, r, mode)
}

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
		fi, err := os.Stat(filepath.Join(root, CompleteMarker))
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

// Touch records that the toolchain at root was used now.
func Touch(root string) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(root, CompleteMarker), now, now)
}
