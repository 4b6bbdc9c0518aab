// Package rebuild is the helper's side of a rebuild (see internal/helper):
// it answers the host's requests in the go-selfcompile command the bundle
// carries. A check refuses what the request alone shows to be wrong; a
// rebuild runs the stages that make and check the new binary — toolchain,
// source, modgen, verify, build, smoke — and hands the host the binary,
// for the host to swap. The wiring reads as the pipeline, in run.go.
package rebuild

import (
	"context"
	"errors"
	"io"

	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/modgen"
	"github.com/selfcompile/go-selfcompile/verify"
)

// Serve answers one request read from r, writing the protocol's messages
// to w (args, the helper verb's further arguments, are reserved: none is
// defined). It returns an error only when it cannot write; a failure of
// the request travels in the outcome.
//
// The host keeps r open until it has the outcome, and its end means the
// host went (see package internal/helper). Then, or when ctx is done (the
// host interrupted it, or the helper was sent SIGTERM because its host
// died), the request is stopped and stopped is called, once (nil: not):
// the helper's main uses it to make sure the process ends soon, whatever
// has not stopped yet.
func Serve(ctx context.Context, args []string, r io.Reader, w io.Writer, stopped func()) error {
	out := helper.NewWriter(w)
	req, err := helper.ReadRequest(r)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, r)
		cancel()
	}()
	if stopped != nil {
		defer context.AfterFunc(ctx, stopped)()
	}
	var done *helper.Outcome
	switch {
	case err != nil:
		done = failed("", err)
	case req.Check != nil:
		done = check(req.Check)
	case req.Rebuild != nil:
		done = run(ctx, req.Rebuild, out)
	default:
		done = failed("", errors.New("helper: empty request"))
	}
	return out.Done(done)
}

// failed is the outcome of a failure in stage.
func failed(stage string, err error) *helper.Outcome {
	return &helper.Outcome{Err: &helper.Error{Stage: stage, Msg: err.Error(), Refused: refused(err)}}
}

// refused reports whether err is the request's fault, or the host's as
// built (a stale bundle, a host setting that names nothing), rather than
// the machine's: running it again cannot help.
func refused(err error) bool {
	var (
		se  *modgen.SpecError
		nie *modgen.NotInstalledError
		de  *modgen.DriftError
		pe  *verify.PluginError
		ce  *modgen.ConflictError
		pin *modgen.PinError
		set *verify.SettingError
		st  *staleError
	)
	return errors.As(err, &se) || errors.As(err, &nie) || errors.As(err, &de) || errors.As(err, &pe) || errors.As(err, &ce) || errors.As(err, &pin) ||
		errors.As(err, &set) || errors.As(err, &st)
}
