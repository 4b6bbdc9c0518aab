package modgen

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// installAndCompare resolves specs in env's host, applies them to its
// go.mod and returns the drift they cause, as the modgen stage does.
func installAndCompare(t *testing.T, env *testEnv, r *Resolver, specs ...string) []Drift {
	t.Helper()
	ctx := context.Background()
	g0, err := ReadGraph(ctx, env.Go, env.HostDir)
	if err != nil {
		t.Fatal(err)
	}
	var added []Resolved
	for _, raw := range specs {
		rv, err := r.Resolve(ctx, mustParse(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, rv)
	}
	set, err := NewSet(nil, added, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyEdit(env.HostDir, Edit{Plugins: set}); err != nil {
		t.Fatal(err)
	}
	g, err := ReadGraph(ctx, env.Go, env.HostDir)
	if err != nil {
		t.Fatal(err)
	}
	checkBuildList(t, env, g)
	var mods []string
	for _, p := range set {
		mods = append(mods, p.Module)
	}
	return Compare(DriftInput{Before: g0.BuildList(), After: g.BuildList(), Graph: g, Plugins: mods, HostVersion: "v1.0.0"})
}

// TestDriftThroughGoCommand installs plugins from the test proxy and a
// local directory into a real host module and checks the drift report
// and the policies, then builds the host to show the go.mod works.
func TestDriftThroughGoCommand(t *testing.T) {
	env := newTestEnv(t)
	r := env.resolver()
	r.BaseDir = localTree(t)
	got := installAndCompare(t, env, r, "example.com/bumper", "example.com/majorplugin@v1.0.0", "example.com/hostneeder@>=1", "./local")
	want := []Drift{
		{Kind: Moved, Module: "example.com/shared", Old: "v1.0.0", New: "v1.2.0", Plugins: []string{"example.com/bumper"}},
		{Kind: MajorVersion, Module: "example.com/shared/v2", Old: "v1.0.0", New: "v2.0.0", Base: "example.com/shared", Plugins: []string{"example.com/majorplugin"}},
		{Kind: HostModule, Module: "example.com/host", Old: "v1.0.0", New: "v1.5.0", Plugins: []string{"example.com/hostneeder"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("drift:\ngot  %+v\nwant %+v", got, want)
	}
	for _, d := range got {
		t.Logf("drift: %v", d)
	}
	var de *DriftError
	if err := RefuseBeyondPatch.Check(got); !errors.As(err, &de) || len(de.Drifts) != 3 {
		t.Errorf("RefuseBeyondPatch: %v", err)
	} else {
		t.Logf("refused: %v", err)
	}
	if _, err := env.Go.Run(context.Background(), gocmd.Invocation{Verb: "build", Args: []string{"./..."}, WorkingDir: env.HostDir}); err != nil {
		t.Errorf("the edited host does not build: %v", err)
	}
}

func TestPatchDriftThroughGoCommand(t *testing.T) {
	env := newTestEnv(t)
	r := env.resolver()
	r.BaseDir = localTree(t)
	got := installAndCompare(t, env, r, "example.com/patcher@~>1.0", "example.com/aplugin@v1.2.0", "./local/sub")
	// example.com/local requires shared v1.0.1 too: attribution follows
	// the requirements of a module replaced by a directory.
	want := []Drift{{Kind: Moved, Module: "example.com/shared", Old: "v1.0.0", New: "v1.0.1", Plugins: []string{"example.com/local", "example.com/patcher"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("drift:\ngot  %+v\nwant %+v", got, want)
	}
	if err := RefuseBeyondPatch.Check(got); err != nil {
		t.Errorf("RefuseBeyondPatch refused a patch-level drift: %v", err)
	}
	if err := RefuseDrift.Check(got); err == nil {
		t.Error("RefuseDrift allowed a drift")
	}
}

// checkBuildList checks that the build list read from the graph is the
// one the go command selects.
func checkBuildList(t *testing.T, env *testEnv, g *Graph) {
	t.Helper()
	out, err := env.Go.Run(context.Background(), gocmd.Invocation{Verb: "list", Args: []string{"-m", "-f", "{{if not .Main}}{{.Path}} {{.Version}}{{end}}", "all"}, WorkingDir: env.HostDir})
	if err != nil {
		t.Fatal(err)
	}
	want := BuildList{}
	for _, line := range strings.Fields(strings.ReplaceAll(string(out), " ", "@")) {
		p, v, _ := strings.Cut(line, "@")
		want[p] = v
	}
	if got := g.BuildList(); !reflect.DeepEqual(got, want) {
		t.Errorf("Graph.BuildList:\ngot  %v\nwant %v (go list -m all)", got, want)
	}
}
