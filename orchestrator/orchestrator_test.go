package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
)

func TestStagesEventsAndCleanup(t *testing.T) {
	var log []string
	r := &Runner{OnEvent: func(e Event) { log = append(log, e.Kind.String()+" "+e.Stage) }}
	boom := errors.New("boom")
	stage := func(name string, err error) (string, error) {
		return Do(context.Background(), r, name, func(context.Context) (string, error) {
			log = append(log, "run "+name)
			r.Defer("undo "+name, func() error { log = append(log, "undo "+name); return nil })
			return name + " out", err
		})
	}
	if out, err := stage("a", nil); err != nil || out != "a out" {
		t.Fatalf("stage a: %q, %v", out, err)
	}
	_, err := stage("b", boom)
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "b" || !errors.Is(err, boom) {
		t.Fatalf("stage b error %v, want a *StageError for stage b wrapping boom", err)
	}
	if err.Error() != "b: boom" {
		t.Errorf("error text %q", err.Error())
	}
	if err := r.Cleanup(); err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "run a", "done a", "start b", "run b", "failed b", "start cleanup", "undo b", "undo a", "done cleanup"}
	if !slices.Equal(log, want) {
		t.Errorf("log %v\nwant %v", log, want)
	}
	var names []string
	for _, tm := range r.Timings() {
		names = append(names, tm.Stage)
	}
	if !slices.Equal(names, []string{"a", "b", "cleanup"}) {
		t.Errorf("timings of %v", names)
	}
}

func TestCleanupErrorsJoinAndAllRun(t *testing.T) {
	r := &Runner{}
	ran := 0
	r.Defer("x", func() error { ran++; return errors.New("cannot remove") })
	r.Defer("y", func() error { ran++; return errors.New("cannot unlock") })
	err := r.Cleanup()
	var se *StageError
	if !errors.As(err, &se) || se.Stage != CleanupStage {
		t.Fatalf("Cleanup error %v, want a *StageError for %s", err, CleanupStage)
	}
	if err.Error() != "cleanup: y: cannot unlock\nx: cannot remove" || ran != 2 {
		t.Errorf("Cleanup error %q after %d cleanups", err, ran)
	}
	if err := r.Cleanup(); err != nil {
		t.Errorf("a second Cleanup ran the cleanups again: %v", err)
	}
}

func TestNoCleanupNoStage(t *testing.T) {
	r := &Runner{OnEvent: func(e Event) { t.Errorf("event %v with nothing deferred", e) }}
	if err := r.Cleanup(); err != nil {
		t.Fatal(err)
	}
}

func TestCancelledContextStopsBeforeTheStage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := (&Runner{}).Stage(ctx, "second", func(context.Context) error { ran = true; return nil })
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "second" || !errors.Is(err, context.Canceled) {
		t.Errorf("Stage error %v, want context.Canceled at stage second", err)
	}
	if ran {
		t.Error("the stage ran after cancel")
	}
}

func TestRecordStagesRunElsewhere(t *testing.T) {
	var events []Event
	r := &Runner{OnEvent: func(e Event) { events = append(events, e) }}
	r.Record(Event{Kind: StageStart, Stage: "build"})
	r.Record(Event{Kind: StageFailed, Stage: "build", Duration: 2 * time.Second, Err: errors.New("no")})
	if len(events) != 2 || events[1].Kind != StageFailed || events[1].Err == nil {
		t.Errorf("events %+v, want start and failed passed on", events)
	}
	if got := r.Timings(); len(got) != 1 || got[0] != (Timing{Stage: "build", Duration: 2 * time.Second}) {
		t.Errorf("timings %+v, want build's 2s", got)
	}
}

func TestEventJSON(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: StageStart, Stage: "build"}, `{"kind":"start","stage":"build"}`},
		{Event{Kind: StageDone, Stage: "build", Duration: 2 * time.Millisecond}, `{"kind":"done","stage":"build","duration_ms":2}`},
		{Event{Kind: StageFailed, Stage: "build", Duration: 1500 * time.Millisecond, Err: errors.New("no space left")}, `{"kind":"failed","stage":"build","duration_ms":1500,"error":"no space left"}`},
		{Event{Kind: StageProgress, Stage: "verify", Done: 0, Total: 96}, `{"kind":"progress","stage":"verify","done":0,"total":96}`},
		{Event{Kind: Warning, Stage: "modgen", Message: "retracted <v1>"}, `{"kind":"warning","stage":"modgen","message":"retracted \u003cv1\u003e"}`},
		{Event{Kind: DriftFound, Stage: "modgen", Drift: &bundle.Drift{Kind: bundle.Moved, Module: "example.com/m", Old: "v1.0.0", New: "v1.1.0", Plugins: []string{"example.com/p"}}},
			`{"kind":"drift","stage":"modgen","message":"example.com/m v1.0.0 -\u003e v1.1.0 (pulled by example.com/p)","drift":{"kind":"moved","module":"example.com/m","old":"v1.0.0","new":"v1.1.0","plugins":["example.com/p"]}}`},
		{Event{Kind: GoCommand, Stage: "build", Args: []string{"build", "-o", "x", "."}, Dir: "/w", Duration: 1234567 * time.Microsecond, Err: errors.New("exit status 1")},
			`{"kind":"go","stage":"build","duration_ms":1234.567,"error":"exit status 1","args":["build","-o","x","."],"dir":"/w"}`},
	} {
		data, err := json.Marshal(tc.e)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != tc.want {
			t.Errorf("%s event:\ngot  %s\nwant %s", tc.e.Kind, data, tc.want)
		}
		if k, ok := ParseEventKind(tc.e.Kind.String()); !ok || k != tc.e.Kind {
			t.Errorf("ParseEventKind(%q) = %v, %v", tc.e.Kind, k, ok)
		}
	}
}

func TestRecordTimesOnlyStageEnds(t *testing.T) {
	r := &Runner{}
	r.Record(Event{Kind: StageStart, Stage: "verify"})
	r.Record(Event{Kind: StageProgress, Stage: "verify", Done: 1, Total: 2})
	r.Record(Event{Kind: GoCommand, Stage: "verify", Duration: time.Second})
	r.Record(Event{Kind: StageDone, Stage: "verify", Duration: 3 * time.Second})
	if got := r.Timings(); len(got) != 1 || got[0].Duration != 3*time.Second {
		t.Errorf("timings %+v, want verify's 3s alone", got)
	}
}
