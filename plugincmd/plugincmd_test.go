package plugincmd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// The commands that need no bundle, and the exit codes: the test binary
// has no bundle and was never rebuilt.
func TestMainWithoutBundle(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{nil, ExitRefused, "", "usage: plugins add"},
		{[]string{"frobnicate"}, ExitRefused, "", `unknown command "frobnicate"`},
		{[]string{"add"}, ExitRefused, "", "usage:"},
		{[]string{"list"}, ExitOK, "no plugins", ""},
		{[]string{"--help"}, ExitOK, "usage: plugins add", ""},
		{[]string{"add", "--frob", "x"}, ExitRefused, "", "flag provided but not defined: -frob"},
		{[]string{"list", "--json"}, ExitOK, "[]", ""},
		{[]string{"upgrade"}, ExitOK, "", "nothing to upgrade"},
		{[]string{"rollback"}, ExitRefused, "", "nothing to roll back to"},
		{[]string{"add", "example.com/p@v1.0.0"}, ExitFailed, "", "carries no go-selfcompile bundle"},
		{[]string{"add", "--json", "example.com/p@v1.0.0"}, ExitFailed, `"result":`, ""},
	} {
		var out, errs bytes.Buffer
		code := Main(context.Background(), tc.args, Config{Stdout: &out, Stderr: &errs})
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errs.String(), tc.errs) {
			t.Errorf("plugins %q: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out.String(), errs.String(), tc.code, tc.stdout, tc.errs)
		}
	}
}

// LogEvents logs each go command with its arguments and duration, stage
// ends, warnings and drift; not starts or package counts.
func TestLogEvents(t *testing.T) {
	var out bytes.Buffer
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	log := LogEvents(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{ReplaceAttr: noTime})))
	for _, e := range []selfcompile.Event{
		{Kind: selfcompile.StageStarted, Stage: "build"},
		{Kind: selfcompile.StageProgress, Stage: "build", Done: 1, Total: 2},
		{Kind: selfcompile.GoCommandRan, Stage: "build", Args: []string{"build", "-o", "out", "."}, Dir: "/w", Duration: 1500 * time.Millisecond},
		{Kind: selfcompile.GoCommandRan, Stage: "build", Args: []string{"list"}, Dir: "/w", Duration: time.Millisecond, Err: errors.New("exit status 1")},
		{Kind: selfcompile.WarningRaised, Stage: "modgen", Message: "careful"},
		{Kind: selfcompile.DriftFound, Stage: "modgen", Drift: &selfcompile.Drift{Module: "example.com/m", Old: "v1.0.0", New: "v1.1.0"}},
		{Kind: selfcompile.StageDone, Stage: "build", Duration: 2 * time.Second},
		{Kind: selfcompile.StageFailed, Stage: "smoke", Duration: time.Second, Err: errors.New("exit 3")},
	} {
		log(e)
	}
	want := `level=INFO msg="go command" stage=build args="[build -o out .]" dir=/w duration=1.5s
level=ERROR msg="go command" stage=build args=[list] dir=/w duration=1ms error="exit status 1"
level=WARN msg=warning stage=modgen message=careful
level=WARN msg=drift stage=modgen change="example.com/m v1.0.0 -> v1.1.0"
level=INFO msg="stage done" stage=build duration=2s
level=ERROR msg="stage failed" stage=smoke duration=1s error="exit 3"
`
	if out.String() != want {
		t.Errorf("logged\n%s\nwant\n%s", out.String(), want)
	}
}
