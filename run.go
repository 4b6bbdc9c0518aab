package selfcompile

import (
	"context"
	"errors"

	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/orchestrator"
	"github.com/selfcompile/go-selfcompile/swap"
)

// Run rebuilds the binary with the requested plugin set, checks it, and
// puts it in place. On failure the running binary and its directory are
// as they were. The Result is never nil: on failure it holds what the run
// learned (timings, warnings, resolved plugins, drift). A failure after the
// swap (cleaning up) is a warning: the new binary is in place.
func (c *Compiler) Run(ctx context.Context) (*Result, error) {
	p := &pipeline{opts: c.opts, res: &Result{}}
	p.orch = &orchestrator.Runner{OnStart: p.started, OnEnd: p.ended}
	if c.opts.Progress != nil {
		p.view = newProgressView(c.opts.Progress, c.opts.DryRun)
		defer p.view.ticking()()
	}
	err := p.run(ctx)
	if cerr := p.orch.Cleanup(); cerr != nil {
		if err == nil {
			p.warn("%v", cerr)
		} else {
			err = errors.Join(err, cerr)
		}
	}
	return p.res, err
}

// pipeline is one Run: its options, the stage runner and the Result it
// fills as stages finish.
type pipeline struct {
	opts Options
	res  *Result
	orch *orchestrator.Runner
	view *progressView // nil without Options.Progress
	// stage is the stage running, which warnings are reported for.
	stage Stage
}

// run is the pipeline; see the README's drawing. The stages from
// toolchain to smoke run in the helper (package internal/rebuild), which
// reports them as they go; the host keeps what it must do itself: prepare
// (the lock, the work directory) and the swap.
func (p *pipeline) run(ctx context.Context) error {
	o, r := p.opts, p.orch
	j, err := orchestrator.Do(ctx, r, StagePrepare, func(ctx context.Context) (*job, error) {
		return prepare(ctx, o, r, p.warn)
	})
	if j != nil && j.work != "" {
		r.Defer("remove work directory", func() error { return p.removeWork(j.work) })
	}
	if err != nil || j.nothingToDo != "" {
		p.keepAsIs(j)
		return err
	}
	built, err := p.rebuild(ctx, j)
	if err != nil {
		return err
	}
	if built.NothingToDo != "" {
		j.nothingToDo = built.NothingToDo
		p.keepAsIs(j)
		return nil
	}
	if o.DryRun {
		p.res.Plugins = built.Result.Plugins
		return nil
	}
	backup, err := orchestrator.Do(ctx, r, StageSwap, func(context.Context) (string, error) {
		return swap.Install(j.target, built.Result.Binary, swap.Options{Backups: j.backups(o.Backups), Mode: 0o755, Expect: &j.identity})
	})
	if err != nil {
		return err
	}
	p.recordSwap(j, built, backup)
	return nil
}

// outcome is the helper's answer, in this package's types.
type outcome = helper.Outcome[Result, Error]

// rebuild has the helper run the stages toolchain, source, modgen, verify,
// build and smoke, relaying their events, warnings and drift as they come.
func (p *pipeline) rebuild(ctx context.Context, j *job) (*outcome, error) {
	last := StageToolchain
	out, err := helper.Call[Event, outcome](ctx, j.helper, helper.Request{Rebuild: &j.request}, func(e *Event) {
		switch e.Kind {
		case StageStarted, StageDone, StageFailed:
			last = e.Stage
			p.emit(*e)
		case WarningRaised:
			p.warn("%s", e.Message)
		case DriftFound:
			p.noteDrift(e.Drift)
		default:
			p.emit(*e)
		}
	})
	if out != nil {
		p.noteOutcome(&out.Result)
	}
	switch {
	case err != nil:
		return nil, &StageError{Stage: last, Err: err}
	case out.Err != nil:
		if out.Err.Stage != "" {
			last = out.Err.Stage
		}
		return nil, &StageError{Stage: last, Err: out.Err}
	}
	return out, nil
}
