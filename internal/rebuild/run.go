package rebuild

import (
	"context"
	"sync"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/smoke"
	"github.com/selfcompile/go-selfcompile/internal/verify"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// run runs the stages that make the new binary and reports each stage's
// start and end, and every warning, on w as it happens. The outcome holds
// what the stages learned, also when one failed.
func run(ctx context.Context, job *helper.Job, w *helper.Writer, setPATH func(string) (func(), error)) *outcome {
	p := &pipeline{job: job, w: w, setPATH: setPATH}
	p.orch = &orchestrator.Runner{OnStart: p.started, OnEnd: p.ended}
	var got learned
	err := p.run(ctx, &got)
	return answer(&got, err)
}

// pipeline is one rebuild in the helper.
type pipeline struct {
	job  *helper.Job
	w    *helper.Writer
	orch *orchestrator.Runner
	// setPATH sets the process's PATH for the type-check (see
	// Process.SetPATH).
	setPATH func(path string) (restore func(), err error)
	// stage is the stage running, which go commands are reported for
	// unless they say which (ranGoIn); mu guards it, for the background
	// jobs run beside the stages.
	mu    sync.Mutex
	stage orchestrator.Stage
}

// learned is what the stages learned, for the outcome (answer), also
// when one failed: each field is set once its stage has run.
type learned struct {
	goVersion string
	plan      *modgen.Plan
	checks    []verify.Report
	// plugins is the new binary's plugin set: as verify found them
	// registering, then as the build recorded them.
	plugins []bundle.Plugin
	built   *build.Output
	smoke   *smoke.Report

	// vulns are the vulnerability check's findings (see vulnCheck), and
	// vulnDB the database, redacted.
	vulns  []selfcompile.Vuln
	vulnDB string
	// store is how the store served the rebuild (store.go).
	store *selfcompile.StoreResult
	// move is the move to another Go (Job.Toolchain), when it made one;
	// nothingToDo says why the job asked nothing that is not already so
	// (a toolchain alone, the one the binary has).
	move        *bundle.ToolchainMove
	nothingToDo string
}

// run is the helper's part of the pipeline, each stage a value in and a
// value out; the work done beside the stages is background's.
func (p *pipeline) run(ctx context.Context, got *learned) error {
	req, err := p.prepare()
	if err != nil {
		return err
	}
	vc, err := newVulnCheck(p.job)
	if err != nil {
		return err
	}
	bg := newBackground(p)
	defer bg.stop()
	tc, err := p.toolchain(ctx, req)
	if err != nil {
		return err
	}
	got.goVersion = req.manifest.GoVersion
	if tc.switched != nil {
		got.goVersion, got.move = tc.switched.move.To, &tc.switched.move
	} else if p.job.Toolchain != "" {
		if got.nothingToDo = p.stays(tc); got.nothingToDo != "" {
			return nil
		}
	}
	src, err := p.source(ctx, tc, bg)
	if err != nil {
		return err
	}
	if !p.job.DryRun && req.manifest.Slim == nil {
		src.kept = bg.startKeptCopy(req.fsys, keptManifest(req.manifest, tc.switched), src.tree.MainDir)
	}
	if src.unpackedAnew && p.job.Store == "" {
		// A module cache unpacked anew: this program was not rebuilt
		// here, and its packages are not compiled yet. Compile the
		// host's own while modgen waits on the network.
		bg.startHostWarmUp(ctx, src.goRun, src.tree, p.job.Work, req.settings.flags)
	}
	got.plan, err = p.plan(ctx, src)
	bg.stopHostWarmUp()
	p.notePlan(got.plan)
	if err != nil {
		return err
	}
	scanned, err := p.scanBuildList(ctx, vc, got.plan, got.goVersion, got)
	if err != nil {
		return err
	}
	in := p.buildInput(src, got.plan)
	in.Record.Vulns = scanned
	// The store may hold this very rebuild: then nothing is compiled,
	// and the binary fetched is smoke-tested as if built here.
	fl := p.openFleet(src, got.plan, in.Record.Previous)
	in.Record.Key = fl.keyOf()
	if got.built = fl.fetch(ctx, src, got.plan); got.built != nil {
		got.plugins, got.store = got.built.Manifest.Plugins, fl.outcome()
		got.smoke, err = p.smoke(ctx, req, got.plan, got.built, vc, got)
		return err
	}
	if p.buildsBesideVerify(in, got.plan) {
		bg.startBuild(ctx, in)
	}
	got.checks, got.plugins, err = p.verify(ctx, src, got.plan, in.Plugins, bg.build)
	if err != nil || p.job.DryRun {
		return err
	}
	got.built, err = p.build(ctx, src, in, got.plugins, bg)
	if err != nil {
		return err
	}
	got.plugins = got.built.Manifest.Plugins
	got.smoke, err = p.smoke(ctx, req, got.plan, got.built, vc, got)
	if err == nil {
		fl.push(ctx, got.built)
	}
	got.store = fl.outcome()
	return err
}
