package helper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// The test binary plays the helper: started with scriptEnv set to a
// script name, it reads the request and answers as the script says.
const scriptEnv = "HELPER_TEST_SCRIPT"

func TestMain(m *testing.M) {
	if script := os.Getenv(scriptEnv); script != "" {
		os.Exit(play(script))
	}
	os.Exit(m.Run())
}

// The host's types stand in for package selfcompile's, which this
// package does not know.
type (
	testEvent struct {
		Kind     string
		Stage    string
		Duration time.Duration
		Err      error
		Args     []string
		Drift    *bundle.Drift
		Done     int
	}
	testResult struct {
		Binary string
		Added  []bundle.Plugin
		Smoke  *testSmoke
	}
	testSmoke struct {
		GoVersion  string
		Registered []string
	}
	testError struct {
		Stage, Msg string
		Refused    bool
	}
	testOutcome = Outcome[testResult, testError]
)

func play(script string) int {
	w := NewWriter(os.Stdout)
	req, err := ReadRequest(os.Stdin)
	if err != nil {
		_ = w.Done(&testOutcome{Err: &testError{Msg: err.Error()}})
		return 0
	}
	switch script {
	case "stages":
		for _, st := range []string{"toolchain", "build"} {
			_ = w.Send(testEvent{Kind: "start", Stage: st})
			if st == "build" {
				_ = w.Send(testEvent{Kind: "progress", Stage: st, Done: 2})
				_ = w.Send(&testEvent{Kind: "go", Stage: st, Args: []string{"build", "-o", "a \"b\"", "."}, Duration: 1500 * time.Millisecond, Err: errors.New("exit status 1")})
			}
			_ = w.Send(testEvent{Kind: "done", Stage: st, Duration: time.Second})
		}
		_ = w.Send(testEvent{Kind: "drift", Drift: &bundle.Drift{Module: "example.com/m", Old: "v1.0.0", New: "v1.1.0", Plugins: []string{"example.com/p"}}})
		_ = w.Done(&testOutcome{Result: testResult{Binary: req.Rebuild.Output, Added: req.Rebuild.Installed, Smoke: &testSmoke{Registered: []string{"a b"}}}})
	case "old":
		fmt.Println(`go-selfcompile-helper "2"`)
	case "crash":
		fmt.Fprintln(os.Stderr, "panic: something broke")
		return 2
	}
	return 0
}

func helperFor(t *testing.T, script string) Helper {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Helper{Bin: exe, Env: append(os.Environ(), scriptEnv+"="+script)}
}

func TestCallRelaysMessagesInOrder(t *testing.T) {
	var got []string
	installed := []bundle.Plugin{{Path: "example.com/p", Module: "example.com/p", Version: "v1.0.0", Query: ">=1, <2", Dir: "a \"dir\"\n"}}
	out, err := Call[testEvent, testOutcome](context.Background(), helperFor(t, "stages"), Request{Rebuild: &Job{Output: "/out/bin", Installed: installed}}, func(e *testEvent) {
		switch e.Kind {
		case "drift":
			got = append(got, "drift "+e.Drift.String())
		case "progress":
			got = append(got, fmt.Sprintf("progress %s %d", e.Stage, e.Done))
		case "go":
			got = append(got, fmt.Sprintf("go %s %q %v %v", e.Stage, e.Args, e.Duration, e.Err))
		default:
			got = append(got, e.Kind+" "+e.Stage)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "start toolchain,done toolchain,start build,progress build 2,go build [\"build\" \"-o\" \"a \\\"b\\\"\" \".\"] 1.5s exit status 1,done build,drift example.com/m v1.0.0 -> v1.1.0 (pulled by example.com/p)"
	if strings.Join(got, ",") != want {
		t.Errorf("messages %q, want %q", got, want)
	}
	if r := out.Result; r.Binary != "/out/bin" || len(r.Added) != 1 || r.Added[0] != installed[0] {
		t.Errorf("outcome %+v, want the binary and plugins the request named", out)
	}
	if s := out.Result.Smoke; s == nil || len(s.Registered) != 1 || s.Registered[0] != "a b" {
		t.Errorf("smoke report %+v", s)
	}
}

func TestCallRefusesAnotherVersion(t *testing.T) {
	_, err := Call[testEvent, testOutcome](context.Background(), helperFor(t, "old"), Request{Check: &Job{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "protocol version 2") || !strings.Contains(err.Error(), "regenerate the bundle") {
		t.Errorf("error %v, want one naming the version and what to do", err)
	}
}

func TestCallHelperThatDies(t *testing.T) {
	_, err := Call[testEvent, testOutcome](context.Background(), helperFor(t, "crash"), Request{Check: &Job{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "ended without an answer") || !strings.Contains(err.Error(), "panic: something broke") {
		t.Errorf("error %v, want one saying it ended and quoting its stderr", err)
	}
}

func TestCallHelperThatIsNotOne(t *testing.T) {
	h := Helper{Bin: "/bin/true"}
	if _, err := os.Stat(h.Bin); err != nil {
		t.Skip("no /bin/true: ", err)
	}
	_, err := Call[testEvent, testOutcome](context.Background(), h, Request{Check: &Job{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "/bin/true") {
		t.Errorf("error %v, want one naming the helper", err)
	}
}

func TestReadRequestRefusesOtherVersions(t *testing.T) {
	if _, err := ReadRequest(strings.NewReader(`go-selfcompile-helper "99" "check"` + "\nend\n")); err == nil || !strings.Contains(err.Error(), "protocol version 99") {
		t.Errorf("error %v, want one naming version 99", err)
	}
	if _, err := ReadRequest(strings.NewReader(`{`)); err == nil || !strings.Contains(err.Error(), "not a go-selfcompile helper message") {
		t.Errorf("error %v, want one about the request", err)
	}
	if _, err := ReadRequest(strings.NewReader(`go-selfcompile-helper "` + strconv.Itoa(Version) + `" "check"` + "\ncheck \"Plugins\" \"1\"\n")); err == nil || !strings.Contains(err.Error(), "ended early") {
		t.Errorf("error %v, want one saying the request ended early", err)
	}
}

// A request survives its encoding, whatever its strings hold.
func TestRequestRoundTrip(t *testing.T) {
	job := &Job{
		Plugins: []string{"example.com/a@>=1.2, <2", "./local dir"}, Remove: []string{"example.com/b"},
		Installed: []bundle.Plugin{{Path: "p", Module: "m", Version: "v1", Query: "q", Dir: "d\t\"x\""}},
		Bundle:    "/b", Work: "/w", Cache: "/c", ModCache: "/m", GOROOT: "/g", Output: "/o", HostVersion: "(devel)",
		Settings: []Setting{{Key: "-ldflags", Value: "-X 'main.v=1 2'"}}, Env: []string{"GOFLAGS=-x -v"},
		Dir: "/d", RegisterFuncs: []string{"database/sql.Register"}, DriftPolicy: 2, RefuseRetracted: true, Allow: "example.com/*,corp.example", RequireChecksumDB: true, Previous: "/bin/host", DryRun: true,
		Registrations: []string{"a", "ünïcode"}, ReportsRegistrations: true, SmokeTimeout: 1500 * time.Millisecond, SmokeArgs: []string{"--version", ""},
	}
	var b strings.Builder
	if err := WriteRequest(&b, Request{Rebuild: job}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRequest(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rebuild == nil || !reflect.DeepEqual(got.Rebuild, job) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got.Rebuild, job)
	}
}
