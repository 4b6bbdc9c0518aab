package selfcompile

import (
	"context"
	"errors"

	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/modgen"
	"github.com/selfcompile/go-selfcompile/orchestrator"
	"github.com/selfcompile/go-selfcompile/smoke"
	"github.com/selfcompile/go-selfcompile/swap"
	"github.com/selfcompile/go-selfcompile/verify"
)

// Run rebuilds the binary with the requested plugin set, checks it, and
// puts it in place. On failure the running binary and its directory are
// as they were. The Result is never nil: on failure it holds what the run
// learned (timings, warnings, resolved plugins, drift). A failure after the
// swap (cleaning up) is a warning: the new binary is in place.
func (c *Compiler) Run(ctx context.Context) (*Result, error) {
	p := &pipeline{opts: c.opts, res: &Result{}}
	p.orch = &orchestrator.Runner{OnEvent: p.onEvent}
	err := p.run(ctx)
	if cerr := p.orch.Cleanup(); cerr != nil {
		if err == nil {
			p.warn("%v", cerr)
		} else {
			err = errors.Join(err, cerr)
		}
	}
	p.res.Stages = p.orch.Timings()
	return p.res, err
}

// pipeline is one Run: its options, the stage runner and the Result it
// fills as stages finish.
type pipeline struct {
	opts Options
	res  *Result
	orch *orchestrator.Runner
}

// run is the pipeline. Each stage is a call into the package that owns it,
// from values earlier stages returned; see the README's drawing.
func (p *pipeline) run(ctx context.Context) error {
	o, r := p.opts, p.orch
	j, err := orchestrator.Do(ctx, r, "prepare", func(ctx context.Context) (*job, error) {
		return prepare(ctx, o, r, p.warn)
	})
	if err != nil || j.noop != "" {
		p.nothingToDo(j)
		return err
	}
	r.Defer("remove work directory", func() error { return p.removeWork(j.work) })
	tools, err := orchestrator.Do(ctx, r, "toolchain", func(context.Context) (*tools, error) {
		return installTools(j)
	})
	if err != nil {
		return err
	}
	p.res.GoVersion = j.manifest.GoVersion
	tree, err := orchestrator.Do(ctx, r, "source", func(context.Context) (*build.Tree, error) {
		return build.Unpack(j.fsys, j.manifest, j.work)
	})
	if err != nil {
		return err
	}
	goRun := j.goRunner(tools.goroot, tree.ModCache, o.Env)
	plan, err := orchestrator.Do(ctx, r, "modgen", func(ctx context.Context) (*modgen.Plan, error) {
		return modgen.MakePlan(ctx, modgen.Request{
			Go: goRun, Dir: tree.Module, HostModule: j.manifest.Module, HostVersion: j.host,
			Installed: j.manifest.Plugins, Specs: j.specs, Remove: o.Remove, BaseDir: o.Dir,
			LocalStore: tree.LocalStore(), BuildFlags: j.flags,
			RefuseRetracted: o.RefuseRetracted, Policy: o.DriftPolicy,
		})
	})
	p.notePlan(plan)
	if err != nil {
		return err
	}
	p.res.Checks, err = orchestrator.Do(ctx, r, "verify", func(ctx context.Context) ([]verify.Report, error) {
		return tools.helper(goRun, tree.Module).Verify(ctx, verify.Config{Dir: tree.Module, BuildFlags: j.flags, RegisterFuncs: o.RegisterFuncs}, addedPaths(plan))
	})
	if err != nil {
		return err
	}
	out, err := orchestrator.Do(ctx, r, "build", func(ctx context.Context) (*build.Output, error) {
		return build.Run(ctx, build.Input{
			Go: goRun, Tree: tree, Bundle: j.fsys, Manifest: j.manifest,
			Plugins: plan.Plugins, Graph: plan.Graph, Flags: j.flags, Output: j.output(),
		})
	})
	if err != nil {
		return err
	}
	p.res.Smoke, err = orchestrator.Do(ctx, r, "smoke", func(ctx context.Context) (*smoke.Report, error) {
		return smoke.Check(ctx, out.Binary, smokeConfig(o, j.manifest.Plugins, plan))
	})
	if err != nil {
		return err
	}
	backup, err := orchestrator.Do(ctx, r, "swap", func(context.Context) (string, error) {
		return swap.Install(j.target, out.Binary, swap.Options{Backups: j.backups(o.Backups), Mode: 0o755})
	})
	if err != nil {
		return err
	}
	p.installed(j, out, backup)
	return nil
}
