package modgen

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// fromBuildList resolves s to the module of the host's build list that
// provides its package, at the version the host builds with; when version
// is set, only a module the host builds at that version counts. The
// bundle carries the build list and those modules, so this needs no
// network. ok is false when no module of the build list provides the
// package, or the build list cannot be read (err says why); s is then
// resolved as any other.
func (r *Resolver) fromBuildList(ctx context.Context, s Spec, version string) (rv Resolved, ok bool, err error) {
	bl := r.BuildList
	var graphErr error // reading it failed: the installed plugins may still tell
	if bl == nil {
		bl, graphErr = ReadBuildList(ctx, r.Go, r.ModDir)
	}
	var candidates []listedModule
	for mod, v := range bl {
		if within(s.Path, mod) {
			candidates = append(candidates, listedModule{Path: mod, Version: v})
		}
	}
	for _, p := range r.Installed {
		if p.Dir != "" || p.Version == "" || !within(s.Path, p.Module) {
			continue
		}
		i := slices.IndexFunc(candidates, func(m listedModule) bool { return m.Path == p.Module })
		switch {
		case i < 0:
			candidates = append(candidates, listedModule{Path: p.Module, Version: p.Version})
		case semver.Compare(p.Version, candidates[i].Version) > 0:
			// The plugin requires it higher than the host does: the
			// build selects the plugin's (minimal version selection).
			candidates[i] = listedModule{Path: p.Module, Version: p.Version}
		}
	}
	// The longest module path that has the package provides it, as in the
	// go command's own import resolution.
	slices.SortFunc(candidates, func(a, b listedModule) int { return len(b.Path) - len(a.Path) })
	for _, m := range candidates {
		if version != "" && m.Version != version {
			// A longer module of the build list, at another version, may
			// be the one that provides the package: leave it to the
			// proxy rather than guess a shorter one.
			return Resolved{}, false, nil
		}
		dir, err := r.moduleDir(ctx, m.Path, m.Version)
		if err != nil {
			continue
		}
		has, err := r.hasPackage(ctx, dir, m.Path, m.Version, s.Path)
		if err != nil {
			return Resolved{}, false, err
		}
		if has {
			return Resolved{Spec: s, Path: s.Path, Module: m.Path, Version: m.Version}, true, nil
		}
	}
	return Resolved{}, false, graphErr
}

// moduleDir returns where mod at version lies unpacked in the module
// cache (GOMODCACHE of the go command's environment), or else downloads
// it there.
func (r *Resolver) moduleDir(ctx context.Context, mod, version string) (string, error) {
	if cache, _ := gocmd.Lookup(r.Go.Environ(), "GOMODCACHE"); cache != "" {
		key, err := module.EscapePath(mod)
		if err != nil {
			return "", err
		}
		v, err := module.EscapeVersion(version)
		if err != nil {
			return "", err
		}
		dir := filepath.Join(cache, filepath.FromSlash(key+"@"+v))
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir, nil
		}
	}
	return r.download(ctx, mod, version)
}

// hasPackage reports whether module mod at version, unpacked at dir,
// provides package pkg, completing the module first when it is trimmed
// and lacks it.
func (r *Resolver) hasPackage(ctx context.Context, dir, mod, version, pkg string) (bool, error) {
	rel := filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/"))
	if hasGoFiles(filepath.Join(dir, rel)) {
		return true, nil
	}
	if r.Trimmed == nil || !r.Trimmed.IsTrimmed(mod, version) {
		return false, nil
	}
	if err := r.Trimmed.Complete(ctx, mod, version, pkg); err != nil {
		return false, err
	}
	return hasGoFiles(filepath.Join(dir, rel)), nil
}

// within reports whether package p lies in module path mod.
func within(p, mod string) bool {
	return p == mod || strings.HasPrefix(p, mod+"/")
}

func (r *Resolver) resolveHostPackage(s Spec) (Resolved, error) {
	if s.Kind != Latest {
		return Resolved{}, specErr(s.Raw, ErrHostPkg, "package %s is part of the host module %s, which is always built at its bundled version: drop %q", s.Path, r.HostModule, "@"+s.Query)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(s.Path, r.HostModule), "/")
	if !hasGoFiles(filepath.Join(r.ModDir, filepath.FromSlash(rel))) {
		return Resolved{}, specErr(s.Raw, ErrNoPackage, "package %s is not in the bundled source of the host module %s: check the path", s.Path, r.HostModule)
	}
	return Resolved{Spec: s, Path: s.Path, Module: r.HostModule}, nil
}
