package selfcompile

import (
	"errors"
	"fmt"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// This file holds what run.go's stages need beyond the call that does the
// work: small adapters from the job to a stage's input, and from a stage's
// output to the Result.

// backups is how many backups the swap keeps: none when writing to
// Options.Output, a file of the caller's rather than an executable to
// roll back.
func (j *job) backups(n int) int {
	if !j.swapping {
		return -1
	}
	return n
}

// noteOutcome puts what the helper learned into the Result, also when it
// failed.
func (p *pipeline) noteOutcome(out *helper.Outcome) {
	p.res.GoVersion = out.GoVersion
	p.res.Added = out.Added
	p.res.Drift = out.Drift
	if s := out.Smoke; s != nil {
		p.res.Smoke = &SmokeReport{GoVersion: s.GoVersion, Plugins: s.Plugins, Registered: s.Registered}
	}
	for _, c := range out.Checks {
		check := Check{Path: c.Path, Name: c.Name, Module: c.Module, Version: c.Version, Inits: c.Inits, VarInits: c.VarInits}
		for _, r := range c.Registrations {
			check.Registrations = append(check.Registrations, Registration{Func: r.Func, Pos: r.Pos})
		}
		check.Via = c.Via
		if k := c.Constructor; k != nil {
			check.Constructor = &Construction{Func: k.Func, Register: k.Register, Type: k.Type}
		}
		p.res.Checks = append(p.res.Checks, check)
	}
}

// noteDrift reports drift as soon as modgen finds it.
func (p *pipeline) noteDrift(ds []bundle.Drift) {
	for i := range ds {
		p.orch.Emit(Event{Kind: DriftFound, Stage: p.stage, Drift: &ds[i]})
	}
}

// installed records a finished swap: in the Result, and for a later Run
// in this process, which must start from the binary now in place.
func (p *pipeline) installed(j *job, built *helper.Outcome, backup string) {
	p.res.Binary, p.res.Backup = j.target, backup
	p.res.Plugins = built.Plugins
	if !j.swapping {
		return
	}
	installedExe(j.target)
	next := *j.info
	next.Plugins = built.Plugins
	if err := installedBundle(built.BundleDir, &next); err != nil {
		p.warn("a second rebuild from this process will start from its original bundle: %v", err)
	}
}

// nothingToDo fills the Result of a run that prepare found had nothing to do.
func (p *pipeline) nothingToDo(j *job) {
	if j == nil || j.noop == "" {
		return
	}
	p.res.Plugins = Installed()
	p.warn("%s", j.noop)
}

// removeWork is the cleanup of the work directory: kept, and named, when
// the run failed and Options.KeepWorkDir asks for it.
func (p *pipeline) removeWork(work string) error {
	if p.res.Binary == "" && p.opts.KeepWorkDir {
		return fmt.Errorf("work directory kept for inspection: %s", work)
	}
	return srctree.RemoveAll(work)
}

func (p *pipeline) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.res.Warnings = append(p.res.Warnings, msg)
	p.orch.Emit(Event{Kind: WarningRaised, Stage: p.stage, Message: msg})
}

func (p *pipeline) onEvent(e Event) {
	if e.Kind == StageStarted {
		p.stage = e.Stage
	}
	if p.opts.OnEvent != nil {
		p.opts.OnEvent(e)
	}
	if p.view != nil {
		p.view.event(e, time.Now())
	}
}

// goCommandEvent is the event of a go command the helper ran.
func goCommandEvent(g *helper.GoCommand) Event {
	e := Event{Kind: GoCommandRan, Stage: g.Stage, Args: g.Args, Dir: g.Dir, Duration: g.Duration}
	if g.Err != "" {
		e.Err = errors.New(g.Err)
	}
	return e
}

// localEvent turns a stage event of the helper into one of this process.
func localEvent(e *helper.Event) Event {
	ev := Event{Stage: e.Stage, Duration: e.Duration}
	switch e.Kind {
	case "start":
		ev.Kind = orchestrator.StageStart
	case "done":
		ev.Kind = orchestrator.StageDone
	default:
		ev.Kind = orchestrator.StageFailed
		ev.Err = remote(&helper.Error{Stage: e.Stage, Msg: e.Err})
	}
	return ev
}

// remoteError is a failure reported by the helper.
type remoteError struct {
	msg     string
	refused bool
}

func (e *remoteError) Error() string { return e.msg }

// Is makes a refusal match ErrRefused.
func (e *remoteError) Is(target error) bool { return e.refused && target == ErrRefused }

func remote(e *helper.Error) error { return &remoteError{msg: e.Msg, refused: e.Refused} }
