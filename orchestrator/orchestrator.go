// Package orchestrator runs the stages of a rebuild: it names them
// ([Stage]), times each, says when a stage starts and ends, wraps a
// failure as a *StageError naming the stage, and runs the cleanup
// functions registered along the way as a last stage of its own
// ([Cleanup]), whatever the outcome.
//
// A stage is a function from values the caller holds to a value the next
// stages use; [Do] runs one, so that the caller's wiring reads as the
// pipeline:
//
//	plan, err := orchestrator.Do(ctx, r, orchestrator.Modgen, func(ctx context.Context) (*modgen.Plan, error) {
//		return modgen.MakePlan(ctx, req)
//	})
package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Stage names a stage of a rebuild.
type Stage string

// The stages of a rebuild, in order. The host runs Prepare, Swap and
// Cleanup; the helper runs the others.
const (
	Prepare   Stage = "prepare"
	Toolchain Stage = "toolchain"
	Source    Stage = "source"
	Modgen    Stage = "modgen"
	Verify    Stage = "verify"
	Build     Stage = "build"
	Smoke     Stage = "smoke"
	Swap      Stage = "swap"
	Cleanup   Stage = "cleanup"
)

// StageError is a failure of one stage.
type StageError struct {
	Stage Stage
	Err   error
}

func (e *StageError) Error() string { return string(e.Stage) + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// Runner runs the stages of one pipeline run. The zero value runs them
// without reporting them. A Runner is not safe for concurrent use.
type Runner struct {
	// OnStart and OnEnd, when set, are called as each stage starts and
	// ends: d is how long it ran and err why it failed (nil when it did
	// not).
	OnStart func(s Stage)
	OnEnd   func(s Stage, d time.Duration, err error)

	cleanups []cleanup
}

type cleanup struct {
	name string
	fn   func() error
}

// Do runs one stage: it checks ctx, reports the start, runs fn, records
// its time and reports the end. A failure is returned as a *StageError
// naming the stage (an error that already is one is returned as it is).
func Do[T any](ctx context.Context, r *Runner, name Stage, fn func(context.Context) (T, error)) (T, error) {
	var out T
	err := r.Stage(ctx, name, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// Stage runs one stage that produces no value; see [Do].
func (r *Runner) Stage(ctx context.Context, name Stage, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return &StageError{Stage: name, Err: err}
	}
	if r.OnStart != nil {
		r.OnStart(name)
	}
	start := time.Now()
	err := fn(ctx)
	if r.OnEnd != nil {
		r.OnEnd(name, time.Since(start), err)
	}
	if err == nil {
		return nil
	}
	if se := (*StageError)(nil); errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: name, Err: err}
}

// Defer registers fn to run in the cleanup stage. Cleanups run
// last-registered first.
func (r *Runner) Defer(name string, fn func() error) {
	r.cleanups = append(r.cleanups, cleanup{name, fn})
}

// Cleanup runs the cleanup stage: every function given to Defer, each
// once, even when an earlier one fails. Their errors are joined, each
// naming its cleanup, in a *StageError for the stage Cleanup. With
// nothing deferred it reports no stage and returns nil.
func (r *Runner) Cleanup() error {
	if len(r.cleanups) == 0 {
		return nil
	}
	cleanups := r.cleanups
	r.cleanups = nil
	return r.Stage(context.Background(), Cleanup, func(context.Context) error {
		var errs []error
		for i := len(cleanups) - 1; i >= 0; i-- {
			if err := cleanups[i].fn(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", cleanups[i].name, err))
			}
		}
		return errors.Join(errs...)
	})
}
