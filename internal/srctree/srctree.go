// Package srctree decides which files of a module tree are build inputs:
// what the generator bundles of the host module and its local replace
// directories, and what a rebuild copies of a local-directory plugin.
package srctree

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// sourceExts are the files the go command reads when building a package.
var sourceExts = map[string]bool{
	".go": true, ".s": true, ".S": true, ".sx": true, ".c": true, ".h": true, ".cc": true,
	".cpp": true, ".cxx": true, ".hh": true, ".hpp": true, ".hxx": true, ".m": true,
	".f": true, ".F": true, ".for": true, ".f90": true, ".syso": true, ".swig": true,
	".swigcxx": true, ".pgo": true,
}

// Skip reports whether a file name is never a build input we carry:
// tests, and bundle files (a bundle must not contain itself).
func Skip(name string) bool {
	return strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, "selfcompile_bundle")
}

// Files lists the build inputs of the module tree at root, as
// slash-separated paths relative to root, sorted: Go and other source
// files, go.mod and go.sum, and the files its packages embed (asked of the
// go command run by g). Nested modules, VCS and hidden directories,
// testdata, vendor, tests and bundle files are left out.
func Files(ctx context.Context, g *gocmd.Runner, root string) ([]string, error) {
	files := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && skipDir(p, name) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && !Skip(name) && (name == "go.mod" || name == "go.sum" || sourceExts[filepath.Ext(name)]) {
			files[p] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	embeds, err := embedFiles(ctx, g, root)
	if err != nil {
		return nil, err
	}
	for _, f := range embeds {
		if !Skip(filepath.Base(f)) {
			files[f] = true
		}
	}
	out := make([]string, 0, len(files))
	for f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.ToSlash(rel))
	}
	sort.Strings(out)
	return out, nil
}

func skipDir(p, name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" {
		return true
	}
	_, err := os.Stat(filepath.Join(p, "go.mod"))
	return err == nil // a nested module
}

// embedFiles asks the go command which files the packages under root embed.
// The go command reads a copy of root's go.mod and go.sum (-modfile): with
// -mod=mod it would rewrite them, and root may be a user's directory (a
// local plugin) that a rebuild must not touch.
func embedFiles(ctx context.Context, g *gocmd.Runner, root string) ([]string, error) {
	args := []string{"-e", "-find"}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
		tmp, err := os.MkdirTemp("", "selfcompile-modfile-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		modFile := filepath.Join(tmp, "go.mod")
		if err := gocmd.CopyModFile(root, modFile); err != nil {
			return nil, err
		}
		args = append(args, "-modfile="+modFile)
	}
	pkgs, err := g.List(ctx, gocmd.Invocation{Args: append(args, "./..."), WorkingDir: root})
	if err != nil {
		return nil, fmt.Errorf("listing the files %s embeds: %w", root, err)
	}
	var files []string
	for _, p := range pkgs {
		for _, f := range p.EmbedFiles {
			files = append(files, filepath.Join(p.Dir, filepath.FromSlash(path.Clean(f))))
		}
	}
	return files, nil
}

// Copy copies the build inputs of the module tree at src (see Files) to
// dst, which must not exist.
func Copy(ctx context.Context, g *gocmd.Runner, src, dst string) error {
	files, err := Files(ctx, g, src)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := copyFile(filepath.Join(src, filepath.FromSlash(f)), filepath.Join(dst, filepath.FromSlash(f))); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return WriteFile(dst, in, 0o644)
}

// WriteFile writes what r holds to a new file target with permissions
// perm (and at least owner read-write), making its directory first: it
// fails if target exists.
func WriteFile(target string, r io.Reader, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// RemoveAll removes a tree whose directories and files may be read-only:
// module cache files, which the go command makes read-only, or an
// installed toolchain. Directories are made writable first, and so are
// read-only files on Windows, which refuses to delete them. It never
// follows a symbolic link, even one put in place of a file or directory
// while it runs: the changes of mode go through an [os.Root] at dir, and
// os.RemoveAll unlinks without following.
func RemoveAll(dir string) error {
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		if r, err := os.OpenRoot(dir); err == nil {
			// dir itself may have become a link since the Lstat.
			if at, err := r.Stat("."); err == nil && os.SameFile(fi, at) {
				makeRemovable(r)
			}
			r.Close()
		}
	}
	return os.RemoveAll(dir)
}

// makeRemovable makes the directories of the tree at r writable, and on
// Windows its read-only files. A failure is left for os.RemoveAll to
// report.
func makeRemovable(r *os.Root) {
	_ = fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
		case d.IsDir():
			_ = r.Chmod(p, 0o700)
		case d.Type().IsRegular() && runtime.GOOS == "windows":
			if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o200 == 0 {
				_ = r.Chmod(p, fi.Mode().Perm()|0o200)
			}
		}
		return nil
	})
}
