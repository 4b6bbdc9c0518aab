package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
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
	data, err := json.Marshal(Event{Kind: StageFailed, Stage: "build", Duration: 1500 * time.Millisecond, Err: errors.New("no space left")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"failed","stage":"build","duration_ms":1500,"error":"no space left"}`; string(data) != want {
		t.Errorf("got %s, want %s", data, want)
	}
}
