package modgen

import (
	"errors"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
)

// driftGraph is the go mod graph of example.com/host with four plugins:
// bumper moves shared beyond the patch level, patcher within it,
// majorplugin adds shared/v2, hostneeder requires a newer host.
const driftGraph = `example.com/host example.com/bumper@v1.0.0
example.com/host example.com/patcher@v1.0.0
example.com/host example.com/majorplugin@v1.0.0
example.com/host example.com/hostneeder@v1.0.0
example.com/host example.com/shared@v1.0.0
example.com/host go@1.21
example.com/bumper@v1.0.0 example.com/deep@v1.0.0
example.com/deep@v1.0.0 example.com/shared@v1.2.0
example.com/patcher@v1.0.0 example.com/shared@v1.0.1
example.com/majorplugin@v1.0.0 example.com/shared/v2@v2.0.0
example.com/hostneeder@v1.0.0 example.com/host@v1.5.0
example.com/hostneeder@v1.0.0 example.com/shared@v1.0.0
go@1.21 toolchain@go1.21
`

func driftInput(t *testing.T) DriftInput {
	g, err := ParseGraph([]byte(driftGraph))
	if err != nil {
		t.Fatal(err)
	}
	return DriftInput{
		Before:      BuildList{"example.com/shared": "v1.0.0", "golang.org/x/sys": "v0.49.0"},
		After:       BuildList{"example.com/shared": "v1.2.0", "golang.org/x/sys": "v0.49.0", "example.com/shared/v2": "v2.0.0", "example.com/deep": "v1.0.0", "example.com/bumper": "v1.0.0", "example.com/patcher": "v1.0.0", "example.com/majorplugin": "v1.0.0", "example.com/hostneeder": "v1.0.0"},
		Graph:       g,
		Plugins:     []string{"example.com/bumper", "example.com/patcher", "example.com/majorplugin", "example.com/hostneeder"},
		HostVersion: "v1.0.0",
	}
}

func TestCompare(t *testing.T) {
	got := Compare(driftInput(t))
	want := []Drift{
		{Kind: Moved, Module: "example.com/shared", Old: "v1.0.0", New: "v1.2.0", Plugins: []string{"example.com/bumper"}},
		{Kind: MajorVersion, Module: "example.com/shared/v2", Old: "v1.0.0", New: "v2.0.0", Base: "example.com/shared", Plugins: []string{"example.com/majorplugin"}},
		{Kind: HostModule, Module: "example.com/host", Old: "v1.0.0", New: "v1.5.0", Plugins: []string{"example.com/hostneeder"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Compare:\ngot  %+v\nwant %+v", got, want)
	}
	for i, s := range []string{
		"example.com/shared v1.0.0 -> v1.2.0 (pulled by example.com/bumper)",
		"example.com/shared/v2 v2.0.0 is added beside the host's example.com/shared v1.0.0 (pulled by example.com/majorplugin)",
		"the host module example.com/host is required at v1.5.0, newer than the host's v1.0.0 (pulled by example.com/hostneeder)",
	} {
		if !strings.HasPrefix(got[i].String(), s) {
			t.Errorf("String() = %q, want it to start with %q", got[i].String(), s)
		}
	}
}

func TestCompareCases(t *testing.T) {
	in := driftInput(t)
	in.HostVersion = "(devel)"
	if ds := Compare(in); len(ds) != 2 {
		t.Errorf("host version unknown: got %d drifts, want 2 (no host check): %v", len(ds), ds)
	}
	in.HostVersion = "v1.6.0"
	if ds := Compare(in); len(ds) != 2 {
		t.Errorf("host newer than required: got %v", ds)
	}
	// A downgrade comes from a plugin spec that names the module itself.
	down := DriftInput{
		Before:  BuildList{"example.com/shared": "v1.2.0"},
		After:   BuildList{"example.com/shared": "v1.0.0"},
		Graph:   &Graph{Main: "example.com/host", Reqs: nil},
		Plugins: []string{"example.com/shared"},
	}
	down.Graph, _ = ParseGraph([]byte("example.com/host example.com/shared@v1.0.0\n"))
	want := []Drift{{Kind: Moved, Module: "example.com/shared", Old: "v1.2.0", New: "v1.0.0", Plugins: []string{"example.com/shared"}}}
	if ds := Compare(down); !reflect.DeepEqual(ds, want) {
		t.Errorf("downgrade: got %+v, want %+v", ds, want)
	}
	if ds := Compare(DriftInput{Before: in.Before, After: in.Before}); ds != nil {
		t.Errorf("no change: got %v", ds)
	}
}

func TestDriftPolicy(t *testing.T) {
	patch := Drift{Kind: Moved, Module: "example.com/shared", Old: "v1.0.0", New: "v1.0.1", Plugins: []string{"example.com/patcher"}}
	minor := Drift{Kind: Moved, Module: "example.com/other", Old: "v1.0.0", New: "v1.2.0"}
	major := Drift{Kind: MajorVersion, Module: "example.com/shared/v2", Old: "v1.0.0", New: "v2.0.0", Base: "example.com/shared"}
	all := []Drift{patch, minor, major}
	if err := AllowDrift.Check(all); err != nil {
		t.Errorf("AllowDrift: %v", err)
	}
	for _, tt := range []struct {
		p    DriftPolicy
		want []Drift
		msg  string
	}{
		{RefuseDrift, all, "plugins would move host dependencies: example.com/shared v1.0.0 -> v1.0.1 (example.com/patcher), example.com/other v1.0.0 -> v1.2.0, example.com/shared/v2 v2.0.0 beside example.com/shared v1.0.0: "},
		{RefuseBeyondPatch, []Drift{minor, major}, "beyond the patch level: example.com/other v1.0.0 -> v1.2.0, example.com/shared/v2 v2.0.0 beside example.com/shared v1.0.0: "},
	} {
		err := tt.p.Check(all)
		var de *DriftError
		if !errors.As(err, &de) || !reflect.DeepEqual(de.Drifts, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("policy %d: got %v, want a DriftError with %q", tt.p, err, tt.msg)
		}
	}
	if err := RefuseBeyondPatch.Check([]Drift{patch}); err != nil {
		t.Errorf("RefuseBeyondPatch refused a patch: %v", err)
	}
	if err := RefuseDrift.Check(nil); err != nil {
		t.Errorf("RefuseDrift refused nothing: %v", err)
	}
}

func TestGraphBuildList(t *testing.T) {
	g := driftInput(t).Graph
	if g.Main != "example.com/host" {
		t.Errorf("Main = %q", g.Main)
	}
	want := BuildList{
		"example.com/bumper": "v1.0.0", "example.com/patcher": "v1.0.0", "example.com/majorplugin": "v1.0.0",
		"example.com/hostneeder": "v1.0.0", "example.com/deep": "v1.0.0",
		"example.com/shared": "v1.2.0", "example.com/shared/v2": "v2.0.0",
	}
	if got := g.BuildList(); !reflect.DeepEqual(got, want) {
		t.Errorf("BuildList:\ngot  %v\nwant %v", got, want)
	}
}

func TestBuildListOf(t *testing.T) {
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "example.com/shared", Version: "v1.0.0"}, {Path: "example.com/r", Version: "v1.1.0", Replace: &debug.Module{Path: "../r"}}}}
	want := BuildList{"example.com/shared": "v1.0.0", "example.com/r": "v1.1.0"}
	if got := BuildListOf(bi); !reflect.DeepEqual(got, want) {
		t.Errorf("BuildListOf = %v, want %v", got, want)
	}
}
