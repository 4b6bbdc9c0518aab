// Package toolchain owns the Go toolchain a host carries: which files of a
// GOROOT are enough to build programs (Files), and putting the bundled copy
// in a content-addressed cache, verified, before use (Install).
//
// The trimmed set is VERSION, go.env, bin/go, pkg/include, the compile,
// link, asm and cgo tools (and preprofile for PGO builds), and src/ without
// src/cmd, tests and testdata. Go no longer ships compiled standard
// packages; the bundled go command compiles them into its build cache on
// first use.
package toolchain

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
)

// Tools are the pkg/tool programs that go build needs.
var Tools = []string{"compile", "link", "asm", "cgo"}

// PGOTools are also needed when the host builds with a profile.
var PGOTools = []string{"preprofile"}

// Files lists the trimmed file set of goroot for building programs for
// goos/goarch on goos/goarch. With pgo, the profile tool is included.
func Files(goroot, goos, goarch string, pgo bool) ([]bundle.Entry, error) {
	exe := ""
	if goos == "windows" {
		exe = ".exe"
	}
	var out []bundle.Entry
	add := func(name string) error {
		src := filepath.Join(goroot, filepath.FromSlash(name))
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
				if rel == "src/cmd" || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(rel, "_test.go") || !d.Type().IsRegular() {
				return nil
			}
			return add(rel)
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GoBin returns the go command inside an installed toolchain root.
func GoBin(goroot string) string {
	exe := ""
	if filepath.Separator == '\\' {
		exe = ".exe"
	}
	return filepath.Join(goroot, "bin", "go"+exe)
}

// completeMarker is written last into an installed toolchain; its content
// is the archive's sha256. A directory without it is not used.
const completeMarker = ".selfcompile-complete"

// Install makes the toolchain archive r (described by part) available under
// cacheDir, extracting it at most once, and returns its GOROOT. The archive
// is verified against part while it is extracted; a mismatch leaves
// nothing behind. Concurrent installs of the same toolchain are safe: each
// extracts into its own temporary directory and the first rename wins.
func Install(open func() (io.ReadCloser, error), part bundle.Part, cacheDir string) (string, error) {
	if len(part.SHA256) < 16 {
		return "", errors.New("toolchain: manifest has no sha256 for the toolchain")
	}
	root := filepath.Join(cacheDir, "toolchain", part.SHA256[:32])
	goroot := filepath.Join(root, "go")
	if ok, err := installed(root, part); err != nil || ok {
		return goroot, err
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".extract-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	r, err := open()
	if err != nil {
		return "", err
	}
	err = archive.Extract(r, tmp, part)
	r.Close()
	if err != nil {
		return "", fmt.Errorf("extracting toolchain: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), []byte(part.SHA256), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, root); err != nil {
		// Another process won the race; use its copy if it is complete.
		if ok, err2 := installed(root, part); ok && err2 == nil {
			return goroot, nil
		}
		return "", fmt.Errorf("installing toolchain: %w", err)
	}
	return goroot, nil
}

func installed(root string, part bundle.Part) (bool, error) {
	data, err := os.ReadFile(filepath.Join(root, completeMarker))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(root); serr == nil {
			// Incomplete leftover of an interrupted install: replace it.
			return false, os.RemoveAll(root)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if strings.TrimSpace(string(data)) != part.SHA256 {
		return false, fmt.Errorf("toolchain cache %s holds sha256 %s, want %s: remove the directory", root, data, part.SHA256)
	}
	if _, err := os.Stat(GoBin(filepath.Join(root, "go"))); err != nil {
		return false, fmt.Errorf("toolchain cache %s is damaged (%v): remove the directory", root, err)
	}
	return true, nil
}
