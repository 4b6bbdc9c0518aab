package orchestrator

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestRunOrderEventsAndCleanup(t *testing.T) {
	var log []string
	r := &Runner{OnEvent: func(e Event) {
		kind := map[EventKind]string{StageStart: "start", StageDone: "done", StageFailed: "failed"}[e.Kind]
		log = append(log, kind+" "+e.Stage)
	}}
	boom := errors.New("boom")
	stage := func(name string, err error) Stage {
		return Func(name, func(context.Context) error {
			log = append(log, "run "+name)
			r.Defer("undo "+name, func() error { log = append(log, "undo "+name); return nil })
			return err
		})
	}
	timings, err := r.Run(context.Background(), stage("a", nil), stage("b", boom), stage("c", nil))
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "b" || !errors.Is(err, boom) {
		t.Fatalf("Run error %v, want a *StageError for stage b wrapping boom", err)
	}
	if err.Error() != "b: boom" {
		t.Errorf("error text %q", err.Error())
	}
	want := []string{"start a", "run a", "done a", "start b", "run b", "failed b", "undo b", "undo a"}
	if !slices.Equal(log, want) {
		t.Errorf("log %v\nwant %v", log, want)
	}
	if len(timings) != 2 || timings[0].Stage != "a" || timings[1].Stage != "b" {
		t.Errorf("timings %+v", timings)
	}
}

func TestCleanupErrorsJoin(t *testing.T) {
	r := &Runner{}
	r.Defer("x", func() error { return errors.New("cannot remove") })
	_, err := r.Run(context.Background(), Func("ok", func(context.Context) error { return nil }))
	if err == nil || err.Error() != "cleanup x: cannot remove" {
		t.Errorf("Run error %v, want the cleanup error", err)
	}
}

func TestCancelledContextStopsBeforeNextStage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	r := &Runner{}
	_, err := r.Run(ctx,
		Func("first", func(context.Context) error { cancel(); return nil }),
		Func("second", func(context.Context) error { ran = true; return nil }))
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "second" || !errors.Is(err, context.Canceled) {
		t.Errorf("Run error %v, want context.Canceled at stage second", err)
	}
	if ran {
		t.Error("the second stage ran after cancel")
	}
}
