// Package rebuild is the helper's side of a rebuild (see internal/helper):
// it answers the host's requests in the go-selfcompile command the bundle
// carries. A check refuses what the request alone shows to be wrong; a
// rebuild runs the stages that make and check the new binary — toolchain,
// source, modgen, verify, build, smoke (running the new binary) — and
// hands the host the binary, for the host to swap. The wiring reads as
// the pipeline, in run.go. The host's types (package selfcompile's
// Event, Result and Error) are what it answers in.
package rebuild

import (
	"context"
	"errors"
	"io"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/verify"
	"github.com/selfcompile/go-selfcompile/internal/vulns"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// outcome is the answer to a request, in the host's types.
type outcome = helper.Outcome[selfcompile.Result, selfcompile.Error]

// Process is what the helper's main package lends Serve of its process:
// the state of a process is its main's to change.
type Process struct {
	// Stopped, when set, is called once when the request is stopped:
	// the helper's main uses it to make sure the process ends soon,
	// whatever has not stopped yet.
	Stopped func()
	// SetPATH sets the process's PATH until restore is called.
	// go/packages runs the go command found on the process's PATH, which
	// a PATH in its Config.Env does not choose: the type-check needs the
	// bundled go first there. Without it, a rebuild that type-checks
	// fails.
	SetPATH func(path string) (restore func(), err error)
}

// Serve answers one request read from r, writing the protocol's messages
// to w. It returns an error only when it cannot write; a failure of the
// request travels in the outcome.
//
// The host keeps r open until it has the outcome, and its end means the
// host went (see package internal/helper). Then, or when ctx is done (the
// host interrupted it, or the helper was sent SIGTERM because its host
// died), the request is stopped and proc.Stopped is called.
func Serve(ctx context.Context, r io.Reader, w io.Writer, proc Process) error {
	out := helper.NewWriter(w)
	req, err := helper.ReadRequest(r)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, r)
		cancel()
	}()
	if proc.Stopped != nil {
		defer context.AfterFunc(ctx, proc.Stopped)()
	}
	var done *outcome
	switch {
	case err != nil:
		done = failed("", err)
	case req.Check != nil:
		done = check(req.Check)
	case req.Rebuild != nil:
		done = run(ctx, req.Rebuild, out, proc.SetPATH)
	case req.Audit != nil:
		done = audit(ctx, req.Audit, out)
	default:
		done = failed("", errors.New("helper: empty request"))
	}
	return out.Done(done)
}

// failed is the outcome of a failure in stage; a *StageError in err names
// the stage instead.
func failed(stage orchestrator.Stage, err error) *outcome {
	if se := (*orchestrator.StageError)(nil); errors.As(err, &se) {
		stage, err = se.Stage, se.Err
	}
	e := &selfcompile.Error{Stage: stage, Msg: err.Error()}
	classify(e, err)
	return &outcome{Err: e}
}

// classify sets e's Kind, and what it knows of the plugin at fault, when
// err is the request's fault, or the host's as built (a stale bundle, a
// host setting that names nothing), rather than the machine's: running
// it again cannot help.
func classify(e *selfcompile.Error, err error) {
	var (
		se  *modgen.SpecError
		nie *modgen.NotInstalledError
		de  *modgen.DriftError
		pe  *verify.PluginError
		ce  *modgen.ConflictError
		pin *modgen.PinError
		set *verify.SettingError
		st  *staleError
		ve  *vulns.RefusedError
		vse *vulns.SettingError
		te  *toolchainError
	)
	switch {
	case errors.As(err, &pe):
		e.Kind, e.Plugin, e.Reason = selfcompile.RefusedPlugin, pe.Plugin, string(pe.Reason)
	case errors.As(err, &se):
		e.Kind, e.Spec = selfcompile.RefusedSpec, se.Spec
	case errors.As(err, &nie):
		e.Kind, e.Plugin = selfcompile.RefusedNotInstalled, nie.Path
	case errors.As(err, &ce):
		e.Kind, e.Spec = selfcompile.RefusedConflict, ce.Specs[0]
	case errors.As(err, &pin):
		e.Kind, e.Spec, e.Plugin = selfcompile.RefusedPin, pin.Spec, pin.Path
	case errors.As(err, &de):
		e.Kind = selfcompile.RefusedDrift
	case errors.As(err, &set), errors.As(err, &vse):
		e.Kind = selfcompile.RefusedSetting
	case errors.As(err, &st):
		e.Kind = selfcompile.RefusedStale
	case errors.As(err, &ve):
		e.Kind = selfcompile.RefusedVuln
	case errors.As(err, &te):
		e.Kind = selfcompile.RefusedToolchain
	}
}
