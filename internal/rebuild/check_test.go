package rebuild

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
)

func TestAlreadySo(t *testing.T) {
	installed := []bundle.Plugin{{Path: "example.com/a", Module: "example.com/a", Version: "v1.2.0", Query: "v1.2.0"}}
	spec := func(raw string) modgen.Spec {
		s, err := modgen.ParseSpec(raw)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if why, err := alreadySo([]modgen.Spec{spec("example.com/a@v1.2.0")}, nil, installed); err != nil || !strings.Contains(why, "nothing to do: example.com/a@v1.2.0 already installed") {
		t.Errorf("same version: %q, %v", why, err)
	}
	if why, err := alreadySo([]modgen.Spec{spec("example.com/a")}, nil, installed); err != nil || !strings.Contains(why, "nothing to do: example.com/a@v1.2.0 already installed") {
		t.Errorf("installed plugin named without a version: %q, %v", why, err)
	}
	for _, raw := range []string{"example.com/a@v1.3.0", "example.com/a@latest", "example.com/a@>=1.2", "example.com/b@v1.2.0", "example.com/b"} {
		if why, err := alreadySo([]modgen.Spec{spec(raw)}, nil, installed); err != nil || why != "" {
			t.Errorf("%s: %q, %v; want work to do", raw, why, err)
		}
	}
	var nie *modgen.NotInstalledError
	if _, err := alreadySo(nil, []string{"example.com/b"}, installed); !errors.As(err, &nie) {
		t.Errorf("removing what is not installed: %v, want a *modgen.NotInstalledError", err)
	}
}

func TestBuildSettings(t *testing.T) {
	flags, env := buildSettings([]helper.Setting{
		{Key: "-buildmode", Value: "exe"},
		{Key: "-ldflags", Value: "-s -X main.version=1.0"},
		{Key: "-tags", Value: "netgo,prod"},
		{Key: "-trimpath", Value: "true"},
		{Key: "-race", Value: "false"},
		{Key: "CGO_ENABLED", Value: "0"},
		{Key: "GOAMD64", Value: "v3"},
		{Key: "vcs.revision", Value: "abc"},
		{Key: "DefaultGODEBUG", Value: "x=1"},
	})
	wantFlags := []string{"-buildvcs=false", "-buildmode=exe", "-ldflags=-s -X main.version=1.0", "-tags=netgo,prod", "-trimpath"}
	if !slices.Equal(flags, wantFlags) {
		t.Errorf("flags %q, want %q", flags, wantFlags)
	}
	if want := []string{"CGO_ENABLED=0", "GOAMD64=v3"}; !slices.Equal(env, want) {
		t.Errorf("env %q, want %q", env, want)
	}
}

func TestCheckRefusesInPrepare(t *testing.T) {
	for _, tc := range []struct {
		job  helper.Job
		want string
		kind selfcompile.ErrorKind
		spec string // the Error's Spec, or its Plugin when kind has no spec
	}{
		{helper.Job{}, "nothing to do", "", ""},
		{helper.Job{Plugins: []string{"example.com/a plugin"}}, `plugin "example.com/a plugin"`, selfcompile.RefusedSpec, "example.com/a plugin"},
		{helper.Job{Plugins: []string{"example.com/p@v2.0.0"}}, "example.com/p/v2", selfcompile.RefusedSpec, "example.com/p@v2.0.0"},
		{helper.Job{Remove: []string{"example.com/b"}}, "example.com/b", selfcompile.RefusedNotInstalled, "example.com/b"},
		{helper.Job{Plugins: []string{"example.com/evil@v1.0.0"}, Allow: "example.com/good"}, `example.com/evil is not allowed: this program installs only plugins matching "example.com/good"`, selfcompile.RefusedSpec, "example.com/evil@v1.0.0"},
		{helper.Job{Plugins: []string{"example.com/p"}, RegisterFuncs: []string{"Register"}}, "RegisterFuncs", selfcompile.RefusedSetting, ""},
	} {
		out := check(&tc.job)
		if out.Err == nil || out.Err.Stage != selfcompile.StagePrepare || !strings.Contains(out.Err.Msg, tc.want) {
			t.Errorf("check(%+v) = %+v, want a prepare error containing %q", tc.job, out.Err, tc.want)
			continue
		}
		e := out.Err
		if e.Kind != tc.kind || (e.Spec != tc.spec && e.Plugin != tc.spec) {
			t.Errorf("check(%+v): %+v, want kind %q naming %q", tc.job, e, tc.kind, tc.spec)
		}
		if refused := errors.Is(e, selfcompile.ErrRefused); refused != (tc.kind != "") {
			t.Errorf("check(%+v): errors.Is(err, ErrRefused) = %v", tc.job, refused)
		}
	}
	installed := []bundle.Plugin{{Path: "example.com/a", Module: "example.com/a", Version: "v1.2.0"}}
	out := check(&helper.Job{Plugins: []string{"example.com/a@v1.2.0"}, Installed: installed})
	if out.Err != nil || !strings.Contains(out.NothingToDo, "already installed") {
		t.Errorf("check of an installed version = %+v, want nothing to do", out)
	}
}

// A refusal reaches the host as the *selfcompile.Error the helper made,
// through the protocol: errors.As finds it, with what it names.
func TestServeRefusalCrossesTheWire(t *testing.T) {
	var req, answer bytes.Buffer
	if err := helper.WriteRequest(&req, helper.Request{Check: &helper.Job{Remove: []string{"example.com/b"}}}); err != nil {
		t.Fatal(err)
	}
	if err := Serve(context.Background(), &req, &answer, Process{}); err != nil {
		t.Fatal(err)
	}
	out, err := helper.ReadAnswer[selfcompile.Event, outcome](&answer, nil)
	if err != nil {
		t.Fatal(err)
	}
	var refusal *selfcompile.Error
	if err := error(out.Err); !errors.As(err, &refusal) || !errors.Is(err, selfcompile.ErrRefused) {
		t.Fatalf("outcome error %#v, want a refusal", out.Err)
	}
	if refusal.Kind != selfcompile.RefusedNotInstalled || refusal.Plugin != "example.com/b" || refusal.Stage != selfcompile.StagePrepare {
		t.Errorf("refusal %+v, want not-installed example.com/b in prepare", refusal)
	}
}

// The record in the new binary keeps the flags and the settings that
// change the build, the caller's included, and nothing else of the
// caller's environment: not a GOPROXY with credentials.
func TestRecordKeepsOnlyBuildSettings(t *testing.T) {
	const secret = "s3cr3t-token"
	job := &helper.Job{
		Settings: []helper.Setting{{Key: "-tags", Value: "prod"}, {Key: "CGO_ENABLED", Value: "0"}},
		Env: []string{
			"GOPROXY=https://user:" + secret + "@proxy.example.com",
			"GONOSUMDB=example.com", "GOFLAGS=-x", "AWS_SECRET_ACCESS_KEY=" + secret,
			"GOAMD64=v2",
		},
	}
	s := newSettings(job, t.Logf)
	got := s.record()
	want := []string{"-buildvcs=false", "-tags=prod", "CGO_ENABLED=0", "GOAMD64=v2"}
	if !slices.Equal(got, want) {
		t.Errorf("record %q, want %q", got, want)
	}
	// The go command still gets the caller's settings.
	if !slices.Contains(s.env, job.Env[0]) {
		t.Errorf("the build's environment %q lacks the caller's GOPROXY", s.env)
	}
}

func TestMayConstruct(t *testing.T) {
	installed := []bundle.Plugin{{Path: "example.com/a", Constructor: "NewFactory", Register: "example.com/h/r.Add"}}
	for _, c := range []struct {
		ctors, paths []string
		want         bool
	}{
		{nil, []string{"example.com/b"}, false},                    // the host takes none
		{[]string{"NewFactory"}, []string{"example.com/a"}, false}, // its record says how
		{[]string{"NewFactory"}, []string{"example.com/a", "example.com/b"}, true},
	} {
		if got := mayConstruct(c.ctors, c.paths, installed); got != c.want {
			t.Errorf("mayConstruct(%q, %q) = %v, want %v", c.ctors, c.paths, got, c.want)
		}
	}
}
