package rebuild

import (
	"fmt"
	"time"

	selfcompile "github.com/selfcompile/go-selfcompile"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/verify"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// This file holds what a rebuild tells the host in the protocol's types
// (internal/helper): the outcome, and the messages sent as the stages go.

// answer is the outcome of a rebuild: what the stages learned (got), and
// err, the failure that ended it, if any.
func answer(got *learned, err error) *outcome {
	out := &outcome{}
	res := &out.Result
	res.GoVersion = got.goVersion
	res.Toolchain, out.NothingToDo = got.move, got.nothingToDo
	if got.plan != nil {
		for _, a := range got.plan.Added {
			res.Added = append(res.Added, a.Plugin())
		}
	}
	res.Checks = wireChecks(got.checks)
	res.Vulns, res.VulnDB = got.vulns, got.vulnDB
	res.Plugins = got.plugins
	if built := got.built; built != nil {
		res.Binary, out.BundleDir = built.Binary, built.BundleDir
	}
	res.Store = got.store
	if rep := got.smoke; rep != nil {
		res.Smoke = &selfcompile.SmokeReport{GoVersion: rep.GoVersion, Plugins: rep.Plugins, Registered: rep.Registered}
	}
	if err != nil {
		out.Err = failed("", err).Err
	}
	return out
}

// wireChecks turns the verify stage's reports into the host's.
func wireChecks(reports []verify.Report) []selfcompile.Check {
	var out []selfcompile.Check
	for _, r := range reports {
		c := selfcompile.Check{Path: r.Path, Name: r.Name, Module: r.Module, Version: r.Version}
		for _, p := range r.Inits {
			c.Inits = append(c.Inits, p.String())
		}
		for _, p := range r.VarInits {
			c.VarInits = append(c.VarInits, p.String())
		}
		for _, reg := range r.Registrations {
			c.Registrations = append(c.Registrations, selfcompile.Registration{Func: reg.Func, Pos: reg.Pos.String()})
		}
		c.Via = r.Via
		if k := r.Constructor; k != nil {
			c.Constructor = &selfcompile.Construction{Func: k.Func, Register: k.Register, Type: k.Type}
		}
		out = append(out, c)
	}
	return out
}

// notePlan tells the host what modgen learned that is not in the outcome,
// even when it failed: its warnings and the drift.
func (p *pipeline) notePlan(plan *modgen.Plan) {
	if plan == nil {
		return
	}
	for _, w := range plan.Warnings {
		p.warn("%s", w)
	}
	for i := range plan.Drift {
		_ = p.w.Send(selfcompile.Event{Kind: selfcompile.DriftFound, Drift: &plan.Drift[i]})
	}
}

func (p *pipeline) warn(format string, args ...any) {
	_ = p.w.Send(selfcompile.Event{Kind: selfcompile.WarningRaised, Message: fmt.Sprintf(format, args...)})
}

// started and ended report a stage to the host.
func (p *pipeline) started(s orchestrator.Stage) {
	p.mu.Lock()
	p.stage = s
	p.mu.Unlock()
	_ = p.w.Send(selfcompile.Event{Kind: selfcompile.StageStarted, Stage: s})
}

func (p *pipeline) ended(s orchestrator.Stage, d time.Duration, err error) {
	e := selfcompile.Event{Kind: selfcompile.StageDone, Stage: s, Duration: d}
	if err != nil {
		e.Kind, e.Err = selfcompile.StageFailed, err
	}
	_ = p.w.Send(e)
}

// progressIn returns what reports how many packages stage compiled so
// far.
func (p *pipeline) progressIn(stage orchestrator.Stage) func(done, total int) {
	return func(done, total int) {
		_ = p.w.Send(selfcompile.Event{Kind: selfcompile.StageProgress, Stage: stage, Done: done, Total: total})
	}
}

// ranGo reports a go command run by the running stage.
func (p *pipeline) ranGo(r gocmd.Run) { p.ranGoIn(p.current(), r) }

// ranGoIn reports a go command run by stage.
func (p *pipeline) ranGoIn(stage orchestrator.Stage, r gocmd.Run) {
	_ = p.w.Send(selfcompile.Event{Kind: selfcompile.GoCommandRan, Stage: stage, Args: r.Args, Dir: r.Dir, Duration: r.Duration, Err: r.Err})
}

// current is the stage running.
func (p *pipeline) current() orchestrator.Stage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stage
}
