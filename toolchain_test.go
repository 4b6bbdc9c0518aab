package selfcompile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/helper"
)

// A malformed Options.Toolchain is refused in prepare before the bundle
// is looked for, in one line naming it and the accepted forms; a
// toolchain alone is something to do.
func TestRunRefusesMalformedToolchainFirst(t *testing.T) {
	_, err := New(Options{Plugins: []string{"example.com/a"}, Toolchain: "1.26.9"}).Run(context.Background())
	var se *StageError
	var e *Error
	if !errors.As(err, &se) || se.Stage != StagePrepare || !errors.As(err, &e) || e.Kind != RefusedToolchain || !errors.Is(err, ErrRefused) {
		t.Fatalf("Run with Toolchain 1.26.9: %v, want a refusal of kind %q in prepare", err, RefusedToolchain)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, `toolchain "1.26.9": want "patch", "latest" or a Go release such as "go1.26.9"`) {
		t.Errorf("refusal %q: want one line naming the value and the forms", msg)
	}
	if errors.Is(err, ErrNoBundle) {
		t.Error("the bundle was looked for before the request was checked")
	}
	_, err = New(Options{Toolchain: "patch"}).Run(context.Background())
	if err == nil || strings.Contains(err.Error(), "nothing to do") {
		t.Errorf("Run with a toolchain alone: %v, want work to do (here, no bundle)", err)
	}
}

// A move to another Go is an event with its own JSON form and progress
// line, and crosses the helper protocol in the event and the Result.
func TestToolchainSwitchedEvent(t *testing.T) {
	move := &ToolchainMove{From: "go1.26.8", To: "go1.26.9", Module: "v0.0.1-go1.26.9.linux-amd64", Sum: "h1:abc="}
	e := Event{Kind: ToolchainSwitched, Stage: StageToolchain, Toolchain: move}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"toolchain","stage":"toolchain","message":"toolchain go1.26.8 -\u003e go1.26.9","toolchain":{"from":"go1.26.8","to":"go1.26.9","module":"v0.0.1-go1.26.9.linux-amd64","sum":"h1:abc="}}`
	if string(data) != want {
		t.Errorf("JSON\n got %s\nwant %s", data, want)
	}
	var out bytes.Buffer
	(&progressView{w: &out}).event(e, time.Now())
	if got := out.String(); got != "selfcompile: toolchain go1.26.8 -> go1.26.9\n" {
		t.Errorf("progress %q", got)
	}
	var b bytes.Buffer
	w := helper.NewWriter(&b)
	sent := &outcome{Result: Result{GoVersion: "go1.26.9", Toolchain: move}}
	if err := w.Send(e); err != nil {
		t.Fatal(err)
	}
	if err := w.Done(sent); err != nil {
		t.Fatal(err)
	}
	var got []Event
	res, err := helper.ReadAnswer[Event, outcome](&b, func(e *Event) { got = append(got, *e) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, sent) || len(got) != 1 || !reflect.DeepEqual(got[0], e) {
		t.Errorf("over the wire: %+v and %+v, want %+v and %+v", res, got, sent, e)
	}
}
