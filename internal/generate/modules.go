package generate

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/assemble"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// moduleEntries collects the dependency modules the host's packages build
// with, by loading them into an empty module cache served from the user's
// own module cache (falling back to the user's GOPROXY), and keeps of
// that cache what the bundle needs (package assemble): the packages the
// host module's packages use on each platform bundled for and each of
// Options.TrimPlatforms. It records in m what it kept.
func (g *generator) moduleEntries(ctx context.Context, modRoot, tmp string, platforms []platform, m *bundle.Manifest) (*assemble.Modules, error) {
	modcache := filepath.Join(tmp, "mod")
	env := g.moduleEnv(modcache)
	listed, names, err := g.listUsed(ctx, modRoot, env, platforms)
	if err != nil {
		return nil, err
	}
	// Loading packages reads only the go.mod files it needs (lazy module
	// loading), but once a rebuild edits go.mod the go command checks the
	// whole pruned module graph: load it too.
	if _, err := g.run.Run(ctx, gocmd.Invocation{Verb: "mod", Args: []string{"graph"}, Env: env, WorkingDir: modRoot}); err != nil {
		return nil, fmt.Errorf("collecting the module graph: %w", err)
	}
	entries, err := bundle.ModuleEntries(modcache)
	if err != nil {
		return nil, err
	}
	mods, err := assemble.Assemble(assemble.Input{ModCache: modcache, Entries: entries, Platforms: names, Listed: listed})
	if err != nil {
		return nil, err
	}
	mods.Record(m)
	return mods, nil
}

// moduleEnv is the environment of the go commands that fill the empty
// module cache modcache.
func (g *generator) moduleEnv(modcache string) []string {
	proxy := "file://" + filepath.ToSlash(filepath.Join(g.env.GOMODCACHE, "cache", "download"))
	if g.env.GOPROXY != "" {
		proxy += "," + g.env.GOPROXY
	}
	return []string{
		"GOMODCACHE=" + modcache,
		"GOPROXY=" + proxy,
		"GOFLAGS=" + strings.TrimSpace(g.env.GOFLAGS+" -modcacherw"),
		"GOWORK=off",
	}
}

// listUsed lists the packages the host module's packages use on each
// platform bundled for (which must build there) and each other one of
// Options.TrimPlatforms, with each tag set, and returns them and the
// platforms listed.
func (g *generator) listUsed(ctx context.Context, modRoot string, env []string, platforms []platform) ([]gocmd.Package, []string, error) {
	// Each platform's build may import packages the others do not
	// (golang.org/x/sys/windows): load the packages for every one.
	var listed []gocmd.Package
	var names []string
	tagSets := append([]string{""}, g.opts.Tags...)
	for _, p := range platforms {
		for _, tags := range tagSets {
			pkgs, err := g.run.List(ctx, gocmd.Invocation{Args: append([]string{"-e=false"}, tagArgs(tags, "-deps", "./...")...), Env: append(p.env(), env...), WorkingDir: modRoot})
			if err != nil {
				return nil, nil, fmt.Errorf("collecting dependency modules for %s%s: %w", p, withTags(tags), err)
			}
			listed = append(listed, pkgs...)
		}
		names = append(names, p.String())
	}
	for _, name := range g.opts.TrimPlatforms {
		if !strings.Contains(name, "/") {
			return nil, nil, fmt.Errorf("trim platform %q: want GOOS/GOARCH", name)
		}
		if slices.Contains(names, name) {
			continue
		}
		for _, tags := range tagSets {
			pkgs, err := assemble.ListOn(ctx, g.run, name, gocmd.Invocation{Args: tagArgs(tags, "./..."), Env: env, WorkingDir: modRoot})
			if err != nil {
				return nil, nil, fmt.Errorf("listing the packages the build uses on %s%s: %w", name, withTags(tags), err)
			}
			listed = append(listed, pkgs...)
		}
		names = append(names, name)
	}
	return listed, names, nil
}

// tagArgs are args with -tags=tags first, when tags is not empty: the
// listing without tags names none, so that GOFLAGS' stand.
func tagArgs(tags string, args ...string) []string {
	if tags == "" {
		return args
	}
	return append([]string{"-tags=" + tags}, args...)
}

// withTags says which tags a listing had, for messages.
func withTags(tags string) string {
	if tags == "" {
		return ""
	}
	return " with -tags " + tags
}
