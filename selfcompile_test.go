package selfcompile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/swap"
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

// An empty request is refused before the bundle is even looked for; the
// helper refuses a malformed spec (see internal/rebuild), also in prepare.
func TestRunRefusesEmptyRequestFirst(t *testing.T) {
	_, err := New(Options{}).Run(context.Background())
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "prepare" || !strings.Contains(err.Error(), "nothing to do") {
		t.Errorf("Run(Options{}): %v, want a prepare error saying there is nothing to do", err)
	}
	if errors.Is(err, ErrNoBundle) {
		t.Errorf("Run(Options{}) looked for the bundle before checking its input")
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

// Every option the helper acts on reaches its request.
func TestFillRequestCarriesOptions(t *testing.T) {
	o := Options{
		Plugins: []string{"example.com/a@v1.0.0"}, Remove: []string{"example.com/b"},
		RegisterFuncs: []string{"database/sql.Register"}, Env: []string{"GOPROXY=off"}, Dir: "testdata",
		DriftPolicy: RefuseBeyondPatch, RefuseRetracted: true, SmokeTimeout: 7 * time.Second, SmokeArgs: []string{"--version"},
		Allow: "example.com/*",
	}
	j := &job{info: &bundle.Info{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}}
	if err := j.fillRequest(o); err != nil {
		t.Fatal(err)
	}
	r := j.request
	abs, _ := filepath.Abs("testdata")
	if !slices.Equal(r.Plugins, o.Plugins) || !slices.Equal(r.Remove, o.Remove) || !slices.Equal(r.RegisterFuncs, o.RegisterFuncs) ||
		!slices.Equal(r.Env, o.Env) || r.Dir != abs || r.DriftPolicy != int(RefuseBeyondPatch) || !r.RefuseRetracted ||
		r.SmokeTimeout != 7*time.Second || !slices.Equal(r.SmokeArgs, o.SmokeArgs) || len(r.Settings) == 0 || r.Allow != o.Allow {
		t.Errorf("request %+v does not carry the options %+v", r, o)
	}
}

// Stale work directories and module caches that no rebuild holds are
// pruned; fresh ones and held ones stay (a module cache is held by its
// work directory's lock).
func TestPruneWorkDirs(t *testing.T) {
	parent := t.TempDir()
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, name := range []string{"stale", "stale.mod", "held", "held.mod", "fresh"} {
		dir := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(dir, "src"), 0o700); err != nil {
			t.Fatal(err)
		}
		if name != "fresh" {
			if err := os.Chtimes(dir, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	unlock, err := swap.Lock(context.Background(), filepath.Join(parent, "held"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	pruneWorkDirs(context.Background(), parent, time.Now().Add(-staleWork))
	for name, want := range map[string]bool{"stale": false, "stale.mod": false, "held": true, "held.mod": true, "fresh": true} {
		if _, err := os.Stat(filepath.Join(parent, name)); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", name, err == nil, want)
		}
	}
	if _, err := os.Stat(swap.LockPath(filepath.Join(parent, "stale"))); err == nil {
		t.Error("the pruned directory's lock file stayed")
	}
}

// After a Run in this process installed a binary, the next Run decides
// what is installed from that binary's plugins, not the running one's.
func TestStartingPluginsAfterAnInstall(t *testing.T) {
	if got := startingPlugins(); len(got) != 0 {
		t.Fatalf("the test binary has plugins %v", got)
	}
	next.Lock()
	next.info = &bundle.Info{Plugins: []Plugin{{Path: "example.com/p", Module: "example.com/p", Version: "v1.2.0"}}}
	next.Unlock()
	defer func() {
		next.Lock()
		next.info = nil
		next.Unlock()
	}()
	if got := startingPlugins(); len(got) != 1 || got[0].Version != "v1.2.0" {
		t.Errorf("startingPlugins = %v, want the installed binary's", got)
	}
}
