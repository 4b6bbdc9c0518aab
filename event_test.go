package selfcompile

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/helper"
)

var events = []Event{
	{Kind: StageStarted, Stage: StageBuild},
	{Kind: StageDone, Stage: StageBuild, Duration: 2 * time.Millisecond},
	{Kind: StageFailed, Stage: StageBuild, Duration: 1500 * time.Millisecond, Err: errors.New("no space left")},
	{Kind: StageProgress, Stage: StageVerify, Done: 0, Total: 96},
	{Kind: WarningRaised, Stage: StageModgen, Message: "retracted <v1>"},
	{Kind: DriftFound, Stage: StageModgen, Drift: &Drift{Kind: bundle.Moved, Module: "example.com/m", Old: "v1.0.0", New: "v1.1.0", Plugins: []string{"example.com/p"}}},
	{Kind: GoCommandRan, Stage: StageBuild, Args: []string{"build", "-o", "x", "."}, Dir: "/w", Duration: 1234567 * time.Microsecond, Err: errors.New("exit status 1")},
}

func TestEventJSON(t *testing.T) {
	want := []string{
		`{"kind":"start","stage":"build"}`,
		`{"kind":"done","stage":"build","duration_ms":2}`,
		`{"kind":"failed","stage":"build","duration_ms":1500,"error":"no space left"}`,
		`{"kind":"progress","stage":"verify","done":0,"total":96}`,
		`{"kind":"warning","stage":"modgen","message":"retracted \u003cv1\u003e"}`,
		`{"kind":"drift","stage":"modgen","message":"example.com/m v1.0.0 -\u003e v1.1.0 (pulled by example.com/p)","drift":{"kind":"moved","module":"example.com/m","old":"v1.0.0","new":"v1.1.0","plugins":["example.com/p"]}}`,
		`{"kind":"go","stage":"build","duration_ms":1234.567,"error":"exit status 1","args":["build","-o","x","."],"dir":"/w"}`,
	}
	for i, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != want[i] {
			t.Errorf("%s event:\ngot  %s\nwant %s", e.Kind, data, want[i])
		}
	}
}

// What the helper answers in crosses the protocol unchanged: every kind
// of event, a result with every field set, and a refusal.
func TestWireRoundTrip(t *testing.T) {
	sent := &outcome{
		BundleDir: "/w/out/bundle",
		Result: Result{
			Plugins: []Plugin{{Path: "example.com/p", Module: "example.com/p", Version: "v1.0.0", Query: ">=1, <2", Dir: "a \"dir\"\n", Constructor: "NewFactory", Register: "example.com/h.Register"}},
			Added:   []Plugin{{Path: "example.com/p", Version: "v1.0.0"}, {}},
			Binary:  "/w/out/host", Backup: "/bin/host.selfcompile-backup",
			Checks: []Check{{
				Path: "example.com/p", Name: "p", Module: "example.com/p", Version: "v1.0.0",
				Inits: []string{"p/p.go:3:6"}, VarInits: []string{"p/p.go:9:5", ""},
				Registrations: []Registration{{Func: "example.com/h.Register", Pos: "p/p.go:4:2"}},
				Via:           []string{"example.com/q"},
				Constructor:   &Construction{Func: "NewFactory", Register: "example.com/h.Register", Type: "h.Factory"},
			}, {}},
			Smoke:     &SmokeReport{GoVersion: "go1.26.8", Plugins: []Plugin{{Path: "example.com/p", Version: "v1.0.0"}}, Registered: []string{"p", "ünïcode"}},
			Stages:    []StageTiming{{Stage: StageBuild, Duration: time.Second}},
			GoVersion: "go1.26.8",
			Drift:     []Drift{*events[5].Drift},
			Warnings:  []string{"careful\tnow"},
		},
		Err: &Error{Kind: RefusedPlugin, Stage: StageVerify, Plugin: "example.com/p", Spec: "example.com/p@latest", Reason: "no-registration", Msg: "plugin example.com/p registers nothing"},
	}
	var b bytes.Buffer
	w := helper.NewWriter(&b)
	for _, e := range events {
		if err := w.Send(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Done(sent); err != nil {
		t.Fatal(err)
	}
	var got []Event
	out, err := helper.ReadAnswer[Event, outcome](&b, func(e *Event) { got = append(got, *e) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, sent) {
		t.Errorf("outcome:\n got %+v\nwant %+v", out, sent)
	}
	if len(got) != len(events) {
		t.Fatalf("%d events, want %d", len(got), len(events))
	}
	for i, e := range got {
		want := events[i]
		// An error travels as its message.
		if (e.Err == nil) != (want.Err == nil) || e.Err != nil && e.Err.Error() != want.Err.Error() {
			t.Errorf("event %d: error %v, want %v", i, e.Err, want.Err)
		}
		e.Err, want.Err = nil, nil
		if !reflect.DeepEqual(e, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, e, want)
		}
	}
	var refusal *Error
	if err := error(&StageError{Stage: StageVerify, Err: out.Err}); !errors.As(err, &refusal) || !errors.Is(err, ErrRefused) || refusal.Reason != "no-registration" {
		t.Errorf("the refusal %v is not one to a host", err)
	}
	if errors.Is(&Error{Msg: "no network"}, ErrRefused) {
		t.Error("an Error of no kind matches ErrRefused")
	}
}
