package modgen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// resolveLocal resolves a local directory spec: the directory is the
// plugin package, its module is the nearest go.mod at or above it.
func (r *Resolver) resolveLocal(s Spec) (Resolved, error) {
	dir, err := r.localDir(s)
	if err != nil {
		return Resolved{}, err
	}
	if !hasGoFiles(dir) {
		return Resolved{}, specErr(s.Raw, ErrLocalDir, "directory %s holds no Go package (no non-test .go files): give the directory of the plugin package", dir)
	}
	root, mf, err := findModule(s, dir)
	if err != nil {
		return Resolved{}, err
	}
	mod := mf.Module.Mod.Path
	if mod == r.HostModule {
		return Resolved{}, specErr(s.Raw, ErrHostPkg, "directory %s belongs to the host module %s, which is built from its bundled source: give the package's import path instead", dir, mod)
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return Resolved{}, err
	}
	pkg := mod
	if rel != "." {
		pkg += "/" + filepath.ToSlash(rel)
	}
	rv := Resolved{Spec: s, Path: pkg, Module: mod, Version: ZeroVersion(mod), Dir: root, GoLine: goLineOf(root)}
	if len(mf.Replace) > 0 {
		rv.Warnings = append(rv.Warnings, fmt.Sprintf("the replace directives in %s are ignored: the go command applies only the host's", filepath.Join(root, "go.mod")))
	}
	return rv, nil
}

// localDir returns the absolute, clean directory s names, which must
// exist.
func (r *Resolver) localDir(s Spec) (string, error) {
	base := r.BaseDir
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", s.Raw, err)
		}
		base = wd
	}
	dir := s.Path
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(base, dir)
	}
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", specErr(s.Raw, ErrLocalDir, "directory %s does not exist: check the path (relative paths start from %s)", dir, base)
	case err != nil:
		return "", specErr(s.Raw, ErrLocalDir, "cannot use directory %s: %v", dir, err)
	case !fi.IsDir():
		return "", specErr(s.Raw, ErrLocalDir, "%s is not a directory: give the directory of the plugin package", dir)
	}
	return dir, nil
}

// findModule returns the root and the parsed go.mod of the module that
// holds dir: the nearest go.mod at or above it, as the go command finds it.
func findModule(s Spec, dir string) (string, *modfile.File, error) {
	for root := dir; ; root = filepath.Dir(root) {
		name := filepath.Join(root, "go.mod")
		data, err := os.ReadFile(name)
		if err == nil {
			f, err := parseLocalGoMod(s, name, data)
			return root, f, err
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", nil, specErr(s.Raw, ErrLocalDir, "cannot read %s: %v", name, err)
		}
		if filepath.Dir(root) == root {
			return "", nil, specErr(s.Raw, ErrLocalDir, "directory %s is in no Go module (no go.mod at or above it): run go mod init in the plugin's directory", dir)
		}
	}
}

// parseLocalGoMod parses a local plugin's go.mod. Strictly first, to see
// its replace directives (for the warning); if that fails, leniently, as
// the go command reads a dependency's go.mod: only its module path must be
// valid.
func parseLocalGoMod(s Spec, name string, data []byte) (*modfile.File, error) {
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		f, err = modfile.ParseLax(name, data, nil)
	}
	if err != nil {
		return nil, specErr(s.Raw, ErrLocalDir, "%s: %s", name, oneLine(err))
	}
	if f.Module == nil {
		return nil, specErr(s.Raw, ErrLocalDir, "%s has no module line: add one, e.g. module example.com/plugin", name)
	}
	if err := module.CheckImportPath(f.Module.Mod.Path); err != nil {
		return nil, specErr(s.Raw, ErrLocalDir, "%s: invalid module path: %s", name, oneLine(err))
	}
	return f, nil
}

// ZeroVersion returns the version a module replaced by a directory is
// required at: the zero pseudo-version of its major version,
// v0.0.0-00010101000000-000000000000 for a path without /vN, the same
// convention the go command uses.
func ZeroVersion(modPath string) string {
	major := "v0"
	if _, pathMajor, ok := module.SplitPathVersion(modPath); ok && pathMajor != "" {
		major = module.PathMajorPrefix(pathMajor)
	}
	return module.ZeroPseudoVersion(major)
}
