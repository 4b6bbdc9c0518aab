package selfcompile

import (
	"context"
	"errors"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/modgen"
)

// The test binary carries no bundle: Run must say so, at prepare.
func TestRunWithoutBundle(t *testing.T) {
	_, err := New(Options{Plugins: []string{"example.com/aplugin@v1.2.0"}}).Run(context.Background())
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "prepare" || !errors.Is(err, ErrNoBundle) {
		t.Fatalf("Run: %v, want ErrNoBundle at prepare", err)
	}
	if !strings.Contains(err.Error(), "go generate") {
		t.Errorf("error does not say what to do: %v", err)
	}
}

// A failed Run still returns what it learned: here, the stage that ran.
func TestRunReturnsResultOnFailure(t *testing.T) {
	res, err := New(Options{Remove: []string{"example.com/x"}}).Run(context.Background())
	if err == nil {
		t.Fatal("Run without a bundle succeeded")
	}
	if res == nil || len(res.Stages) != 1 || res.Stages[0].Stage != "prepare" {
		t.Errorf("Result %+v, want the timing of prepare", res)
	}
}

func TestAlreadySo(t *testing.T) {
	installed := []Plugin{{Path: "example.com/a", Module: "example.com/a", Version: "v1.2.0", Query: "v1.2.0"}}
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

func TestRunRefusesBadInputFirst(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, "nothing to do"},
		{Options{Plugins: []string{"example.com/a plugin"}}, `plugin "example.com/a plugin"`},
		{Options{Plugins: []string{"example.com/p@v2.0.0"}}, "example.com/p/v2"},
	} {
		_, err := New(tc.opts).Run(context.Background())
		var se *StageError
		if !errors.As(err, &se) || se.Stage != "prepare" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%+v): %v, want a prepare error containing %q", tc.opts, err, tc.want)
		}
		if errors.Is(err, ErrNoBundle) {
			t.Errorf("Run(%+v) looked for the bundle before checking its input", tc.opts)
		}
	}
}

func TestNewCopiesOptions(t *testing.T) {
	plugins := []string{"example.com/a"}
	c := New(Options{Plugins: plugins})
	plugins[0] = "example.com/changed"
	if c.opts.Plugins[0] != "example.com/a" {
		t.Errorf("New kept the caller's slice: %v", c.opts.Plugins)
	}
}

func TestBuildSettings(t *testing.T) {
	flags, env := buildSettings([]debug.BuildSetting{
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

func TestInstalledFromTakesVersionsFromBuildInfo(t *testing.T) {
	m := &bundle.Manifest{Plugins: []bundle.Plugin{
		{Path: "example.com/a/sub", Module: "example.com/a", Version: "v1.0.0"},
		{Path: "example.com/host/p", Module: "example.com/host"},
	}}
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "example.com/a", Version: "v1.2.0"}}}
	got := installedFrom(m, bi)
	if len(got) != 2 || got[0].Version != "v1.2.0" || got[1].Version != "" {
		t.Errorf("installedFrom: %+v", got)
	}
	if installedFrom(nil, bi) != nil {
		t.Error("a binary without a bundle reports plugins")
	}
}
