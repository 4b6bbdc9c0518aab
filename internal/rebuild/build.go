package rebuild

import (
	"context"
	"slices"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/verify"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// buildInput is what the build takes of the plan, with the plugins as
// their records say they register (keepConstructions): verify decides.
func (p *pipeline) buildInput(src *sources, plan *modgen.Plan) build.Input {
	m := src.manifest
	return build.Input{
		Go: src.goRun, Tree: src.tree, Bundle: src.fsys, Manifest: m,
		Plugins: keepConstructions(plan.Plugins, m.Plugins), Graph: plan.Graph, Flags: src.settings.flags, Trimmed: src.completer, Listed: plan.Listed, Kept: src.kept,
		Output: p.job.Output, Switch: buildSwitch(src.switched),
		Record: &bundle.Rebuild{GoVersion: src.goVersion(), Settings: src.settings.record(), Drift: plan.Drift, Previous: previousSHA256(p.job.Previous)},
	}
}

// buildsBesideVerify reports whether the build of in starts before
// verify, to run beside it (see backgroundBuild): unless this is a dry
// run, or a plugin new to a host that takes constructors may be one. The
// plugins file then waits for verify to choose its call, and verify
// compiles what its type-check needs itself, so that the main package is
// compiled and linked once, after it. The build's preparation lists
// nothing and completes no module when modgen listed for it, as it does
// when there are plugins to check, so nothing changes the module cache
// under verify's go commands.
func (p *pipeline) buildsBesideVerify(in build.Input, plan *modgen.Plan) bool {
	return !p.job.DryRun && !mayConstruct(p.job.Constructors, addedPaths(plan), in.Manifest.Plugins)
}

// build is the build stage: it waits for the build started beside verify,
// or starts it now with the plugins as verify found them registering. A
// build started with other registrations is started again: what it
// compiled stays in the build cache, and only the main package is
// compiled and linked again.
func (p *pipeline) build(ctx context.Context, src *sources, in build.Input, plugins []bundle.Plugin, bg *background) (*build.Output, error) {
	switch {
	case bg.build == nil:
		in.Plugins = plugins
		bg.startBuild(ctx, in)
	case !slices.Equal(plugins, in.Plugins):
		in.Plugins, in.Kept = plugins, nil
		bg.startBuild(ctx, in)
	}
	built, err := orchestrator.Do(ctx, p.orch, orchestrator.Build, bg.build.wait)
	if err != nil {
		return nil, err
	}
	if err := build.Seal(src.tree, built.Manifest); err != nil {
		p.warn("the next rebuild will unpack the modules again: %v", err)
	}
	return built, nil
}

// previousSHA256 is the sha256 of the binary that ran the rebuild, for
// its record; empty when it cannot be read.
func previousSHA256(name string) string {
	p, err := archive.FilePart(name)
	if err != nil {
		return ""
	}
	return p.SHA256
}

// keepConstructions returns plugins with the constructor and registration
// function that installed records for each plugin installed before, as
// the build's first guess: verify decides (withConstructions).
func keepConstructions(plugins, installed []bundle.Plugin) []bundle.Plugin {
	out := slices.Clone(plugins)
	for i, pl := range out {
		if j := indexPlugin(installed, pl.Path); j >= 0 && pl.Constructor == "" {
			out[i].Constructor, out[i].Register = installed[j].Constructor, installed[j].Register
		}
	}
	return out
}

// mayConstruct reports whether a plugin of paths may register through a
// constructor that verify has yet to choose: the host takes constructors
// and the plugin is new to the binary (installed is what it has).
func mayConstruct(ctors, paths []string, installed []bundle.Plugin) bool {
	if len(ctors) == 0 {
		return false
	}
	for _, p := range paths {
		if indexPlugin(installed, p) < 0 {
			return true
		}
	}
	return false
}

// withConstructions returns plugins with each checked plugin of paths
// registered as verify found: through its constructor, or by its init
// code.
func withConstructions(plugins []bundle.Plugin, paths []string, checks []verify.Report) []bundle.Plugin {
	out := slices.Clone(plugins)
	for i, pl := range out {
		if !slices.Contains(paths, pl.Path) {
			continue
		}
		out[i].Constructor, out[i].Register = "", ""
		for _, c := range checks {
			if c.Path == pl.Path && c.Constructor != nil {
				out[i].Constructor, out[i].Register = c.Constructor.Func, c.Constructor.Register
			}
		}
	}
	return out
}
