package orchestrator

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestStagesEventsAndCleanup(t *testing.T) {
	var log []string
	r := &Runner{
		OnStart: func(s Stage) { log = append(log, "start "+string(s)) },
		OnEnd: func(s Stage, d time.Duration, err error) {
			what := "done "
			if err != nil {
				what = "failed "
			}
			log = append(log, what+string(s))
		},
	}
	boom := errors.New("boom")
	stage := func(name Stage, err error) (string, error) {
		return Do(context.Background(), r, name, func(context.Context) (string, error) {
			log = append(log, "run "+string(name))
			r.Defer("undo "+string(name), func() error { log = append(log, "undo "+string(name)); return nil })
			return string(name) + " out", err
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
}

func TestCleanupErrorsJoinAndAllRun(t *testing.T) {
	r := &Runner{}
	ran := 0
	r.Defer("x", func() error { ran++; return errors.New("cannot remove") })
	r.Defer("y", func() error { ran++; return errors.New("cannot unlock") })
	err := r.Cleanup()
	var se *StageError
	if !errors.As(err, &se) || se.Stage != Cleanup {
		t.Fatalf("Cleanup error %v, want a *StageError for %s", err, Cleanup)
	}
	if err.Error() != "cleanup: y: cannot unlock\nx: cannot remove" || ran != 2 {
		t.Errorf("Cleanup error %q after %d cleanups", err, ran)
	}
	if err := r.Cleanup(); err != nil {
		t.Errorf("a second Cleanup ran the cleanups again: %v", err)
	}
}

func TestNoCleanupNoStage(t *testing.T) {
	r := &Runner{OnStart: func(s Stage) { t.Errorf("stage %s with nothing deferred", s) }}
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
