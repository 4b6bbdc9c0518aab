// Package orchestrator runs the stages of a rebuild in order: it times
// each stage, reports an event when a stage starts and ends, wraps a
// failure as a *StageError naming the stage, and always runs the cleanup
// functions registered along the way, last registered first.
package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Stage is one step of the pipeline.
type Stage interface {
	// Name is a short lower-case word, e.g. "build".
	Name() string
	// Run does the stage's work. It must return promptly when ctx is done.
	Run(ctx context.Context) error
}

// Func adapts a function to a Stage.
func Func(name string, run func(ctx context.Context) error) Stage { return funcStage{name, run} }

type funcStage struct {
	name string
	run  func(ctx context.Context) error
}

func (s funcStage) Name() string                  { return s.name }
func (s funcStage) Run(ctx context.Context) error { return s.run(ctx) }

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event, in the order a stage produces them.
const (
	StageStart EventKind = iota
	StageDone
	StageFailed
)

// Event reports progress. For StageStart, Duration is zero; for StageDone
// and StageFailed it is the stage's run time, and Err is set on failure.
type Event struct {
	Kind     EventKind
	Stage    string
	Duration time.Duration
	Err      error
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

// Runner runs stages. The zero value runs them without reporting events.
type Runner struct {
	// OnEvent, when set, is called synchronously for every event.
	OnEvent func(Event)

	cleanups []cleanup
}

type cleanup struct {
	name string
	fn   func() error
}

// Defer registers fn to run when Run returns, whatever the outcome.
// Cleanups run last-registered first; their errors are joined into the
// error Run returns.
func (r *Runner) Defer(name string, fn func() error) {
	r.cleanups = append(r.cleanups, cleanup{name, fn})
}

// Run runs stages in order until one fails or ctx is done, then the
// cleanups. It returns the timing of every stage that ran.
func (r *Runner) Run(ctx context.Context, stages ...Stage) (timings []Timing, err error) {
	defer func() {
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			c := r.cleanups[i]
			if cerr := c.fn(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup %s: %w", c.name, cerr))
			}
		}
		r.cleanups = nil
	}()
	for _, s := range stages {
		if cerr := ctx.Err(); cerr != nil {
			return timings, &StageError{Stage: s.Name(), Err: cerr}
		}
		r.emit(Event{Kind: StageStart, Stage: s.Name()})
		start := time.Now()
		serr := s.Run(ctx)
		d := time.Since(start)
		timings = append(timings, Timing{Stage: s.Name(), Duration: d})
		if serr != nil {
			r.emit(Event{Kind: StageFailed, Stage: s.Name(), Duration: d, Err: serr})
			var se *StageError
			if errors.As(serr, &se) {
				return timings, serr
			}
			return timings, &StageError{Stage: s.Name(), Err: serr}
		}
		r.emit(Event{Kind: StageDone, Stage: s.Name(), Duration: d})
	}
	return timings, nil
}

func (r *Runner) emit(e Event) {
	if r.OnEvent != nil {
		r.OnEvent(e)
	}
}
