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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// CleanupStage is the name of the stage [Runner.Cleanup] runs.
const CleanupStage = "cleanup"

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event. A stage starts, then ends done or failed; while it
// runs it may report progress, warnings, drift and go command runs.
const (
	StageStart EventKind = iota
	StageDone
	StageFailed
	// StageProgress: Done of Total packages compiled so far.
	StageProgress
	// Warning: Message is something the rebuild did differently or
	// noticed, without failing.
	Warning
	// DriftFound: Drift is one change the plugins make to the host's
	// dependencies.
	DriftFound
	// GoCommand: the go command ran with Args in Dir for Duration; Err
	// is set when it failed.
	GoCommand
)

var kindNames = [...]string{"start", "done", "failed", "progress", "warning", "drift", "go"}

// String returns "start", "done", "failed", "progress", "warning",
// "drift" or "go".
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// ParseEventKind is the inverse of [EventKind.String].
func ParseEventKind(s string) (EventKind, bool) {
	for i, n := range kindNames {
		if n == s {
			return EventKind(i), true
		}
	}
	return 0, false
}

// Event reports what a stage does. Kind says which fields are set: for
// StageStart none; for StageDone and StageFailed, Duration is the stage's
// run time and Err is set on failure; for the others, see the kinds.
type Event struct {
	Kind     EventKind
	Stage    string
	Duration time.Duration
	Err      error
	// Done and Total count packages, for StageProgress: the go command
	// started compiling Done of the Total it found out of date.
	Done, Total int
	// Message is the text of a Warning.
	Message string
	// Drift is the change of a DriftFound event.
	Drift *bundle.Drift
	// Args are the go command's arguments after "go", and Dir its
	// working directory, for a GoCommand event.
	Args []string
	Dir  string
}

// jsonEvent is Event's JSON form.
type jsonEvent struct {
	Kind       string     `json:"kind"`
	Stage      string     `json:"stage"`
	DurationMS *float64   `json:"duration_ms,omitempty"`
	Error      string     `json:"error,omitempty"`
	Done       *int       `json:"done,omitempty"`
	Total      *int       `json:"total,omitempty"`
	Message    string     `json:"message,omitempty"`
	Drift      *jsonDrift `json:"drift,omitempty"`
	Args       []string   `json:"args,omitempty"`
	Dir        string     `json:"dir,omitempty"`
}

// jsonDrift is a Drift's JSON form, its kind named.
type jsonDrift struct {
	Kind    string   `json:"kind"`
	Module  string   `json:"module"`
	Old     string   `json:"old"`
	New     string   `json:"new"`
	Base    string   `json:"base,omitempty"`
	Plugins []string `json:"plugins,omitempty"`
}

// DriftKindName names a drift kind in JSON: "moved", "major_version" or
// "host_module".
func DriftKindName(k bundle.DriftKind) string {
	switch k {
	case bundle.Moved:
		return "moved"
	case bundle.MajorVersion:
		return "major_version"
	case bundle.HostModule:
		return "host_module"
	}
	return fmt.Sprintf("drift_kind_%d", int(k))
}

// MarshalJSON encodes e as one line of a JSON event stream: "kind" and
// "stage", then the fields its kind sets — "duration_ms" (done, failed,
// go), "error" (its message), "done" and "total" (progress), "message"
// (warning; for drift, the change described), "drift" (drift: "kind",
// "module", "old", "new", "base", "plugins"), "args" and "dir" (go).
func (e Event) MarshalJSON() ([]byte, error) {
	v := jsonEvent{Kind: e.Kind.String(), Stage: e.Stage, Message: e.Message, Args: e.Args, Dir: e.Dir}
	switch e.Kind {
	case StageDone, StageFailed, GoCommand:
		ms := float64(e.Duration.Microseconds()) / 1000
		v.DurationMS = &ms
	case StageProgress:
		v.Done, v.Total = &e.Done, &e.Total
	case DriftFound:
		if d := e.Drift; d != nil {
			v.Drift = &jsonDrift{Kind: DriftKindName(d.Kind), Module: d.Module, Old: d.Old, New: d.New, Base: d.Base, Plugins: d.Plugins}
			v.Message = d.String()
		}
	}
	if e.Err != nil {
		v.Error = e.Err.Error()
	}
	// Specs and messages keep their < and >, as a person wrote them.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
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
	if e.Kind == StageDone || e.Kind == StageFailed {
		r.timings = append(r.timings, Timing{Stage: e.Stage, Duration: e.Duration})
	}
	r.emit(e)
}

// Emit passes on an event of a running stage (progress, a warning,
// drift, a go command run).
func (r *Runner) Emit(e Event) { r.emit(e) }

// Timings returns how long each stage run so far took, in order.
func (r *Runner) Timings() []Timing { return append([]Timing(nil), r.timings...) }

func (r *Runner) emit(e Event) {
	if r.OnEvent != nil {
		r.OnEvent(e)
	}
}
