package modgen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/module"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
)

// Request is what a plan is made from: the host module as the go command
// sees it, the plugins it has, and what is asked. MakePlan does not
// modify it.
type Request struct {
	// Go runs the go command in the host's environment; its GOFLAGS may
	// name another go.mod with -modfile (see GoModDir).
	Go *gocmd.Runner
	// Dir is the host module's root directory, where the go command runs.
	Dir string
	// GoModDir is the directory of the go.mod file to edit, when the go
	// command reads it from elsewhere (-modfile). Empty means Dir.
	GoModDir string
	// HostModule is the host's module path; HostVersion its version from
	// the binary's build information ("(devel)" or empty when it has none).
	HostModule, HostVersion string
	// Installed is the plugin set the host has now.
	Installed []Plugin
	// Specs are the plugins to add or move; Remove the module or package
	// paths of installed plugins to drop.
	Specs  []Spec
	Remove []string
	// BaseDir is the directory relative local-directory specs are taken
	// from. Empty means the process's working directory.
	BaseDir string
	// LocalStore, when set, is a directory that receives a copy of every
	// local-directory plugin module, and go.mod replaces each with its
	// copy: the rebuilt binary's bundle carries them, so it rebuilds after
	// the directory is gone. A plugin installed earlier must already have
	// its copy there. Empty means go.mod replaces each with its directory.
	LocalStore string
	// BuildFlags are the build's flags, so that loading the plugins fills
	// the module cache (and go.sum) the build will use.
	BuildFlags []string
	// HostPackages, when set, are the host's packages the build lists
	// (its main package, "./..."): loaded with the plugins, in the same go
	// command, so that Plan.Listed holds every package the build with
	// the plugins uses.
	HostPackages []string
	// RefuseRetracted refuses versions their authors retracted.
	RefuseRetracted bool
	// Policy decides which drift stops the plan.
	Policy DriftPolicy
	// Trimmed, when set, is the module cache's trimmed modules: a plugin
	// that needs a package of one gets it completed first (see Load).
	Trimmed Trimmed
	// KeepGoing resolves every spec even when some are refused: each
	// refusal (a *SpecError) goes into Plan.Refused and the plan goes on
	// with the others. By default the first refusal is MakePlan's error.
	KeepGoing bool

	// GoVersion, when set, is the Go the rebuild builds with: a plugin
	// whose module's go line is above it is refused (checkGoLines).
	// Toolchain is Options.Toolchain, and BundledGo the binary's Go,
	// for the refusal to name the request that would allow the move.
	GoVersion, Toolchain, BundledGo string
}

// Plan is what a request resolved to. MakePlan has written its go.mod.
type Plan struct {
	// Added are the specs, resolved, in the order given (less the refused).
	Added []Resolved
	// Plugins is the new plugin set, sorted by path; a local plugin's Dir
	// is the directory it was installed from.
	Plugins []Plugin
	// Graph is the module requirement graph with the plugins.
	Graph *Graph
	// Drift lists every host dependency the plugins move.
	Drift []Drift
	// Warnings are notes for the user: retracted versions, ignored
	// replaces of a local module.
	Warnings []string
	// Refused holds, with Request.KeepGoing, each spec that was refused.
	Refused []error
	// Listed are the packages the plugins and Request.HostPackages use,
	// as go list -deps listed them with the plan's go.mod (Load); nil
	// when no plugin was added.
	Listed []gocmd.Package
}

// MakePlan resolves the specs, computes the new plugin set, writes it into
// go.mod, loads the plugins once through the go command (so that a module
// that cannot be fetched is reported in the go command's own words, and
// go.sum gets the new sums), and compares the module graph before and
// after. A drift req.Policy refuses is a *DriftError, returned with the
// plan.
func MakePlan(ctx context.Context, req Request) (*Plan, error) {
	p := &Plan{}
	// Checks that resolving left running (a retraction query) end with
	// the plan, their warnings in it, whether it succeeds or not.
	defer p.waitChecks()
	before, err := ReadGraph(ctx, req.Go, req.Dir)
	if err != nil {
		return p, err
	}
	if err := p.resolve(ctx, req, before.BuildList()); err != nil {
		return p, err
	}
	if err := checkGoLines(req, p.Added); err != nil {
		return p, err
	}
	set, err := NewSet(req.Installed, p.Added, req.Remove)
	if err != nil {
		return p, err
	}
	p.Plugins = set
	p.Warnings = append(p.Warnings, MovedPlugins(req.Installed, set, p.Added)...)
	edit, err := localCopies(ctx, req, p.Added, set)
	if err != nil {
		return p, err
	}
	if err := ApplyEdit(cmpOr(req.GoModDir, req.Dir), Edit{Plugins: edit}); err != nil {
		return p, err
	}
	if p.Listed, err = loadPackages(ctx, req, p.Added); err != nil {
		return p, explainNeedsGo(req, err)
	}
	if p.Graph, err = ReadGraph(ctx, req.Go, req.Dir); err != nil {
		return p, err
	}
	mods := make([]string, len(set))
	for i, pl := range set {
		mods[i] = pl.Module
	}
	p.Drift = Compare(DriftInput{Before: before.BuildList(), After: p.Graph.BuildList(), Graph: p.Graph, Plugins: mods, HostVersion: req.HostVersion})
	return p, req.Policy.Check(p.Drift)
}

// waitChecks adds to the warnings those of the resolutions' checks that
// ran beside the plan (see Resolved.AllWarnings).
func (p *Plan) waitChecks() {
	for _, a := range p.Added {
		if a.later != nil {
			p.Warnings = append(p.Warnings, a.later()...)
		}
	}
}

// resolve resolves every spec; see Request.KeepGoing.
func (p *Plan) resolve(ctx context.Context, req Request, bl BuildList) error {
	res := &Resolver{Go: req.Go, ModDir: req.Dir, HostModule: req.HostModule, BaseDir: req.BaseDir, RefuseRetracted: req.RefuseRetracted, Trimmed: req.Trimmed, Installed: req.Installed, BuildList: bl}
	res.CheckGo = func(rv Resolved) error { return checkGoLines(req, []Resolved{rv}) }
	for _, s := range req.Specs {
		rv, err := res.Resolve(ctx, s)
		var se *SpecError
		switch {
		case req.KeepGoing && errors.As(err, &se):
			p.Refused = append(p.Refused, err)
			continue
		case err != nil:
			return err
		}
		p.Added = append(p.Added, rv)
		p.Warnings = append(p.Warnings, rv.Warnings...)
	}
	return nil
}

// localCopies returns set with each local-directory plugin pointing at its
// copy in req.LocalStore: a fresh copy for a plugin installed from its
// directory now, the existing copy for one installed before.
func localCopies(ctx context.Context, req Request, added []Resolved, set []Plugin) ([]Plugin, error) {
	if req.LocalStore == "" {
		return set, nil
	}
	fresh := map[string]string{} // module -> directory given now
	for _, a := range added {
		if a.Dir != "" {
			fresh[a.Module] = a.Dir
		}
	}
	out := append([]Plugin(nil), set...)
	for i, p := range out {
		if p.Dir == "" {
			continue
		}
		cp, err := LocalCopy(req.LocalStore, p.Module)
		if err != nil {
			return nil, err
		}
		if src, ok := fresh[p.Module]; ok {
			if err := srctree.RemoveAll(cp); err != nil {
				return nil, err
			}
			if err := srctree.Copy(ctx, req.Go, src, cp); err != nil {
				return nil, fmt.Errorf("copying local plugin %s from %s: %w", p.Path, src, err)
			}
		} else if _, err := os.Stat(filepath.Join(cp, "go.mod")); err != nil {
			return nil, fmt.Errorf("the bundle has no copy of local plugin %s (installed from %s): install it again from its directory", p.Path, p.Dir)
		}
		out[i].Dir = cp
	}
	return out, nil
}

// LocalCopy is where in store the copy of local plugin module mod lives.
func LocalCopy(store, mod string) (string, error) {
	esc, err := module.EscapePath(mod)
	if err != nil {
		return "", err
	}
	return filepath.Join(store, filepath.FromSlash(esc)), nil
}

// loadPackages loads the added plugins and their dependencies through the
// go command, with the host's packages req.HostPackages, completing first
// the trimmed modules they need. Problems of a plugin package itself (no
// files for the target, a missing import) are left to package verify,
// which explains them (-e).
func loadPackages(ctx context.Context, req Request, added []Resolved) ([]gocmd.Package, error) {
	if len(added) == 0 {
		return nil, nil
	}
	args := append([]string{}, req.BuildFlags...)
	seen := map[string]bool{}
	for _, a := range added {
		if !seen[a.Path] {
			seen[a.Path] = true
			args = append(args, a.Path)
		}
	}
	args = append(args, req.HostPackages...)
	return Load(ctx, LoadRequest{Go: req.Go, Dir: req.Dir, GoModDir: req.GoModDir, Trimmed: req.Trimmed, Args: args})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
