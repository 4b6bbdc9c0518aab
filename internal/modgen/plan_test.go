package modgen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

func (e *testEnv) request(specs ...string) Request {
	req := Request{Go: e.Go, Dir: e.HostDir, HostModule: "example.com/host", HostVersion: "v1.0.0"}
	for _, raw := range specs {
		s, err := ParseSpec(raw)
		if err != nil {
			panic(err)
		}
		req.Specs = append(req.Specs, s)
	}
	return req
}

// TestMakePlan makes a plan for one plugin against the test proxy: the
// plan says what was resolved, go.mod requires it, and nothing moved.
func TestMakePlan(t *testing.T) {
	env := newTestEnv(t)
	req := env.request("example.com/aplugin@v1.2.0")
	req.Policy = RefuseDrift
	plan, err := MakePlan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Added) != 1 || plan.Added[0].Version != "v1.2.0" {
		t.Errorf("Added %+v", plan.Added)
	}
	if len(plan.Plugins) != 1 || plan.Plugins[0].Path != "example.com/aplugin" || plan.Plugins[0].Query != "v1.2.0" {
		t.Errorf("Plugins %+v", plan.Plugins)
	}
	if len(plan.Drift) != 0 || plan.Graph == nil {
		t.Errorf("Drift %v, graph %v", plan.Drift, plan.Graph)
	}
	data, _ := os.ReadFile(filepath.Join(env.HostDir, "go.mod"))
	if !strings.Contains(string(data), "example.com/aplugin v1.2.0") {
		t.Errorf("go.mod does not require the plugin:\n%s", data)
	}
}

// TestMakePlanListsHostPackages: with HostPackages, the plan's listing
// holds the host's packages beside the plugin's, from one go command, so
// that the build need not list them again.
func TestMakePlanListsHostPackages(t *testing.T) {
	env := newTestEnv(t)
	req := env.request("example.com/aplugin@v1.2.0")
	req.HostPackages = []string{".", "./..."}
	var lists int
	run := *req.Go
	run.OnRun = func(r gocmd.Run) {
		if len(r.Args) > 0 && r.Args[0] == "list" && slices.Contains(r.Args, "-deps") {
			lists++
		}
	}
	req.Go = &run
	plan, err := MakePlan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, l := range plan.Listed {
		got[l.ImportPath] = true
	}
	for _, want := range []string{"example.com/host", "example.com/host/registry", "example.com/aplugin", "fmt"} {
		if !got[want] {
			t.Errorf("Listed lacks %s (has %d packages)", want, len(plan.Listed))
		}
	}
	if lists != 1 {
		t.Errorf("%d go list -deps commands, want 1", lists)
	}
}

// A refused drift is an error returned with the plan, which still says
// what would have moved.
func TestMakePlanRefusedDriftKeepsThePlan(t *testing.T) {
	env := newTestEnv(t)
	req := env.request("example.com/bumper")
	req.Policy = RefuseDrift
	plan, err := MakePlan(context.Background(), req)
	var de *DriftError
	if !errors.As(err, &de) {
		t.Fatalf("MakePlan: %v, want a *DriftError", err)
	}
	if plan == nil || len(plan.Drift) == 0 || plan.Drift[0].Module != "example.com/shared" {
		t.Errorf("plan %+v, want the drift of example.com/shared", plan)
	}
}

// KeepGoing resolves every spec; the refused ones are data, the others
// are planned. Without it the first refusal is the error.
func TestMakePlanKeepGoing(t *testing.T) {
	env := newTestEnv(t)
	req := env.request("example.com/aplugin@v1.2.0", "example.com/aplugin/nosuchpkg@v1.2.0")
	_, err := MakePlan(context.Background(), req)
	var se *SpecError
	if !errors.As(err, &se) {
		t.Fatalf("MakePlan: %v, want a *SpecError", err)
	}
	req.KeepGoing = true
	plan, err := MakePlan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Refused) != 1 || !errors.As(plan.Refused[0], &se) || len(plan.Added) != 1 {
		t.Errorf("Refused %v, Added %+v: want one of each", plan.Refused, plan.Added)
	}
}

// With a LocalStore, a local plugin is copied into it and go.mod replaces
// the module with the copy; the plan records the directory it came from.
func TestMakePlanLocalStore(t *testing.T) {
	env := newTestEnv(t)
	req := env.request("./local")
	req.BaseDir = localTree(t)
	req.LocalStore = t.TempDir()
	plan, err := MakePlan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := LocalCopy(req.LocalStore, "example.com/local")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cp, "go.mod")); err != nil {
		t.Errorf("no copy in the store: %v", err)
	}
	if len(plan.Plugins) != 1 || plan.Plugins[0].Dir != filepath.Join(req.BaseDir, "local") {
		t.Errorf("Plugins %+v, want the local directory recorded", plan.Plugins)
	}
	data, _ := os.ReadFile(filepath.Join(env.HostDir, "go.mod"))
	if !strings.Contains(string(data), "=> "+cp) {
		t.Errorf("go.mod does not replace the module with its copy %s:\n%s", cp, data)
	}
}
