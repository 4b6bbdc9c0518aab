package rebuild

import (
	"errors"
	"fmt"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/modgen"
	"github.com/selfcompile/go-selfcompile/orchestrator"
	"github.com/selfcompile/go-selfcompile/verify"
)

// This file holds what a rebuild tells the host in the protocol's types
// (internal/helper): the outcome, and the messages sent as the stages go.

// answer is the outcome of a rebuild: what the stages learned (got), and
// err, the failure that ended it, if any.
func answer(got *learned, err error) *helper.Outcome {
	out := &helper.Outcome{GoVersion: got.goVersion}
	if got.plan != nil {
		for _, a := range got.plan.Added {
			out.Added = append(out.Added, a.Plugin())
		}
	}
	out.Checks = wireChecks(got.checks)
	out.Plugins = got.plugins
	if built := got.built; built != nil {
		out.Binary, out.BundleDir = built.Binary, built.BundleDir
	}
	if rep := got.smoke; rep != nil {
		out.Smoke = &helper.SmokeReport{Nonce: rep.Nonce, GoVersion: rep.GoVersion, Plugins: rep.Plugins, Registered: rep.Registered}
	}
	if err != nil {
		stage := ""
		var se *orchestrator.StageError
		if errors.As(err, &se) {
			stage, err = se.Stage, se.Err
		}
		out.Err = &helper.Error{Stage: stage, Msg: err.Error(), Refused: refused(err)}
	}
	return out
}

// wireChecks turns the verify stage's reports into the protocol's.
func wireChecks(reports []verify.Report) []helper.Check {
	var out []helper.Check
	for _, r := range reports {
		c := helper.Check{Path: r.Path, Name: r.Name, Module: r.Module, Version: r.Version}
		for _, p := range r.Inits {
			c.Inits = append(c.Inits, p.String())
		}
		for _, p := range r.VarInits {
			c.VarInits = append(c.VarInits, p.String())
		}
		for _, reg := range r.Registrations {
			c.Registrations = append(c.Registrations, helper.Registration{Func: reg.Func, Pos: reg.Pos.String()})
		}
		c.Via = r.Via
		if k := r.Constructor; k != nil {
			c.Constructor = &helper.Construction{Func: k.Func, Register: k.Register, Type: k.Type}
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
	if len(plan.Drift) > 0 {
		_ = p.w.Send(helper.Message{Drift: plan.Drift})
	}
}

func (p *pipeline) warn(format string, args ...any) {
	_ = p.w.Send(helper.Message{Warning: fmt.Sprintf(format, args...)})
}

func (p *pipeline) event(e orchestrator.Event) {
	if e.Kind == orchestrator.StageStart {
		p.mu.Lock()
		p.stage = e.Stage
		p.mu.Unlock()
	}
	msg := &helper.Event{Kind: e.Kind.String(), Stage: e.Stage, Duration: e.Duration}
	if e.Err != nil {
		msg.Err = e.Err.Error()
	}
	_ = p.w.Send(helper.Message{Event: msg})
}

// progressIn returns what reports how many packages stage compiled so
// far.
func (p *pipeline) progressIn(stage string) func(done, total int) {
	return func(done, total int) {
		_ = p.w.Send(helper.Message{Progress: &helper.Progress{Stage: stage, Done: done, Total: total}})
	}
}

// ranGo reports a go command run by the running stage.
func (p *pipeline) ranGo(r gocmd.Run) { p.ranGoIn(p.current(), r) }

// ranGoIn reports a go command run by stage.
func (p *pipeline) ranGoIn(stage string, r gocmd.Run) {
	msg := &helper.GoCommand{Stage: stage, Args: r.Args, Dir: r.Dir, Duration: r.Duration}
	if r.Err != nil {
		msg.Err = r.Err.Error()
	}
	_ = p.w.Send(helper.Message{GoCommand: msg})
}

// current is the stage running.
func (p *pipeline) current() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stage
}
