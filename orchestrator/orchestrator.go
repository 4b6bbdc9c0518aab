// Package orchestrator runs the stages of a rebuild: it times each stage,
// reports an event when a stage starts and ends, wraps a failure as a
// *StageError naming the stage, and runs the cleanup functions registered
// along the way as a last stage of its own ([CleanupStage]), whatever the
// outcome.
//
// A stage is a function from values the caller holds to a value the next
// stages use; [Do] runs one, so that the caller's wiring reads as the
// pipeline:
//
//	plan, err := orchestrator.Do(ctx, r, "modgen", func(ctx context.Context) (*modgen.Plan, error) {
//		return modgen.MakePlan(ctx, req)
//	})
package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CleanupStage is the name of the stage [Runner.Cleanup] runs.
const CleanupStage = "cleanup"

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event, in the order a stage produces them.
const (
	StageStart EventKind = iota
	StageDone
	StageFailed
)

// String returns "start", "done" or "failed".
func (k EventKind) String() string {
	switch k {
	case StageStart:
		return "start"
	case StageDone:
		return "done"
	case StageFailed:
		return "failed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event reports progress. For StageStart, Duration is zero; for StageDone
// and StageFailed it is the stage's run time, and Err is set on failure.
type Event struct {
	Kind     EventKind
	Stage    string
	Duration time.Duration
	Err      error
}

// MarshalJSON encodes e as {"kind", "stage", "duration_ms", "error"}, the
// error as its message: one line of a JSON event stream.
func (e Event) MarshalJSON() ([]byte, error) {
	v := struct {
		Kind       string  `json:"kind"`
		Stage      string  `json:"stage"`
		DurationMS float64 `json:"duration_ms,omitempty"`
		Error      string  `json:"error,omitempty"`
	}{Kind: e.Kind.String(), Stage: e.Stage, DurationMS: float64(e.Duration.Microseconds()) / 1000}
	if e.Err != nil {
		v.Error = e.Err.Error()
	}
	return json.Marshal(v)
}

// Timing is how long a stage ran.
type Timing struct {
	Stage    string
	Duration time.Duration
}

// StageError is a failure of one stage.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// Runner runs the stages of one pipeline run. The zero value runs them
// without reporting events. A Runner is not safe for concurrent use.
type Runner struct {
	// OnEvent, when set, is called synchronously for every event.
	OnEvent func(Event)

	timings  []Timing
	cleanups []cleanup
}

type cleanup struct {
	name string
	fn   func() error
}

// Do runs one stage: it checks ctx, reports the start, runs fn, records
// its time and reports the end. A failure is returned as a *StageError
// naming the stage (an error that already is one is returned as it is).
func Do[T any](ctx context.Context, r *Runner, name string, fn func(context.Context) (T, error)) (T, error) {
	var out T
	err := r.Stage(ctx, name, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// Stage runs one stage that produces no value; see [Do].
func (r *Runner) Stage(ctx context.Context, name string, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return &StageError{Stage: name, Err: err}
	}
	r.emit(Event{Kind: StageStart, Stage: name})
	start := time.Now()
	err := fn(ctx)
	d := time.Since(start)
	r.timings = append(r.timings, Timing{Stage: name, Duration: d})
	if err != nil {
		r.emit(Event{Kind: StageFailed, Stage: name, Duration: d, Err: err})
		if se := (*StageError)(nil); errors.As(err, &se) {
			return err
		}
		return &StageError{Stage: name, Err: err}
	}
	r.emit(Event{Kind: StageDone, Stage: name, Duration: d})
	return nil
}

// Defer registers fn to run in the cleanup stage. Cleanups run
// last-registered first.
func (r *Runner) Defer(name string, fn func() error) {
	r.cleanups = append(r.cleanups, cleanup{name, fn})
}

// Cleanup runs the cleanup stage: every function given to Defer, each
// once, even when an earlier one fails or ctx is done. Their errors are
// joined, each naming its cleanup, in a *StageError for CleanupStage. With
// nothing deferred it reports no stage and returns nil.
func (r *Runner) Cleanup() error {
	if len(r.cleanups) == 0 {
		return nil
	}
	cleanups := r.cleanups
	r.cleanups = nil
	return r.Stage(context.WithoutCancel(context.Background()), CleanupStage, func(context.Context) error {
		var errs []error
		for i := len(cleanups) - 1; i >= 0; i-- {
			if err := cleanups[i].fn(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", cleanups[i].name, err))
			}
		}
		return errors.Join(errs...)
	})
}

// Record reports an event of a stage that ran elsewhere (in another
// process), as if it had run here: the event is passed on, and the
// stage's time is recorded when it ends.
func (r *Runner) Record(e Event) {
	if e.Kind != StageStart {
		r.timings = append(r.timings, Timing{Stage: e.Stage, Duration: e.Duration})
	}
	r.emit(e)
}

// Timings returns how long each stage run so far took, in order.
func (r *Runner) Timings() []Timing { return append([]Timing(nil), r.timings...) }

func (r *Runner) emit(e Event) {
	if r.OnEvent != nil {
		r.OnEvent(e)
	}
}
