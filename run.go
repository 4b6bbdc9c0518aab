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
	p.orch = &orchestrator.Runner{OnEvent: p.onEvent}
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
	p.res.Stages = p.orch.Timings()
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
	stage string
}

// run is the pipeline; see the README's drawing. The stages from
// toolchain to smoke run in the helper (package internal/rebuild), which
// reports them as they go; the host keeps what it must do itself: prepare
// (the lock, the work directory) and the swap.
func (p *pipeline) run(ctx context.Context) error {
	o, r := p.opts, p.orch
	j, err := orchestrator.Do(ctx, r, "prepare", func(ctx context.Context) (*job, error) {
		return prepare(ctx, o, r, p.warn)
	})
	if j != nil && j.work != "" {
		r.Defer("remove work directory", func() error { return p.removeWork(j.work) })
	}
	if err != nil || j.noop != "" {
		p.nothingToDo(j)
		return err
	}
	built, err := p.rebuild(ctx, j)
	if err != nil {
		return err
	}
	if o.DryRun {
		p.res.Plugins = built.Plugins
		return nil
	}
	backup, err := orchestrator.Do(ctx, r, "swap", func(context.Context) (string, error) {
		return swap.Install(j.target, built.Binary, swap.Options{Backups: j.backups(o.Backups), Mode: 0o755, Expect: &j.identity})
	})
	if err != nil {
		return err
	}
	p.installed(j, built, backup)
	return nil
}

// rebuild has the helper run the stages toolchain, source, modgen, verify,
// build and smoke, relaying their events, warnings and drift as they come.
func (p *pipeline) rebuild(ctx context.Context, j *job) (*helper.Outcome, error) {
	last := "toolchain"
	out, err := j.helper.Call(ctx, helper.Request{Rebuild: &j.request}, func(m helper.Message) {
		switch {
		case m.Event != nil:
			last = m.Event.Stage
			p.orch.Record(localEvent(m.Event))
		case m.Warning != "":
			p.warn("%s", m.Warning)
		case m.Drift != nil:
			p.noteDrift(m.Drift)
		case m.Progress != nil:
			p.orch.Emit(Event{Kind: StageProgress, Stage: m.Progress.Stage, Done: m.Progress.Done, Total: m.Progress.Total})
		case m.GoCommand != nil:
			p.orch.Emit(goCommandEvent(m.GoCommand))
		}
	})
	if out != nil {
		p.noteOutcome(out)
	}
	switch {
	case err != nil:
		return nil, &StageError{Stage: last, Err: err}
	case out.Err != nil:
		if out.Err.Stage != "" {
			last = out.Err.Stage
		}
		return nil, &StageError{Stage: last, Err: remote(out.Err)}
	}
	return out, nil
}
