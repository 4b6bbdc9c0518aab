package modgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// BuildList maps every module of a build to its selected version. The
// main module is not in it.
type BuildList map[string]string

// BuildListOf returns the modules a binary was linked with, from its build
// information: the ground truth of what the running host is built from,
// though it holds only modules that provide linked packages.
func BuildListOf(bi *debug.BuildInfo) BuildList {
	bl := BuildList{}
	for _, d := range bi.Deps {
		bl[d.Path] = d.Version
	}
	return bl
}

// Graph is a module requirement graph, as go mod graph prints it.
type Graph struct {
	Main string // the main module's path
	// Reqs holds each module version's requirements. The main module's
	// key has an empty Version.
	Reqs map[module.Version][]module.Version
}

// ReadGraph returns the requirement graph of the main module in dir.
func ReadGraph(ctx context.Context, g *gocmd.Runner, dir string) (*Graph, error) {
	out, err := g.Run(ctx, gocmd.Invocation{Verb: "mod", Args: []string{"graph"}, WorkingDir: dir})
	if err != nil {
		return nil, err
	}
	return ParseGraph(out)
}

// ReadBuildList returns the build list of the main module in dir, read
// from go mod graph (Graph.BuildList). Not go list -m all: that wants
// every module's .info file, which a bundled module cache does not hold,
// and asks the network for each.
func ReadBuildList(ctx context.Context, g *gocmd.Runner, dir string) (BuildList, error) {
	gr, err := ReadGraph(ctx, g, dir)
	if err != nil {
		return nil, err
	}
	return gr.BuildList(), nil
}

// ParseGraph parses the output of go mod graph. The go and toolchain
// pseudo-modules are left out.
func ParseGraph(data []byte) (*Graph, error) {
	gr := &Graph{Reqs: map[module.Version][]module.Version{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		from, to, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		f, t := graphNode(from), graphNode(to)
		if f.Version == "" {
			gr.Main = f.Path
		}
		if t.Path == "go" || t.Path == "toolchain" || f.Path == "go" || f.Path == "toolchain" {
			continue
		}
		gr.Reqs[f] = append(gr.Reqs[f], t)
	}
	return gr, sc.Err()
}

func graphNode(s string) module.Version {
	p, v, _ := strings.Cut(s, "@")
	return module.Version{Path: p, Version: v}
}

// BuildList returns the build list gr selects: every module at the
// highest version the graph requires (minimal version selection), the
// main module left out. It is what go list -m all prints, but needs only
// the go.mod files the graph was read from: go list -m also wants each
// module's .info file, which a bundled module cache does not hold.
func (gr *Graph) BuildList() BuildList {
	bl := BuildList{}
	for _, reqs := range gr.Reqs {
		for _, r := range reqs {
			if r.Path != gr.Main && semver.Compare(r.Version, bl[r.Path]) > 0 {
				bl[r.Path] = r.Version
			}
		}
	}
	return bl
}

// reach returns every module version reachable from m, m included.
func (gr *Graph) reach(m module.Version) map[module.Version]bool {
	seen := map[module.Version]bool{m: true}
	todo := []module.Version{m}
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, r := range gr.Reqs[n] {
			if !seen[r] {
				seen[r] = true
				todo = append(todo, r)
			}
		}
	}
	return seen
}

// Drift is one change a plugin set makes to the host's dependencies; the
// bundle's manifest records it, so the type lives in package bundle.
type Drift = bundle.Drift

// DriftKind says how a plugin changes the host's dependencies.
type DriftKind = bundle.DriftKind

// The kinds of drift; see bundle.DriftKind.
const (
	Moved        = bundle.Moved
	MajorVersion = bundle.MajorVersion
	HostModule   = bundle.HostModule
)

// DriftInput is what Compare compares.
type DriftInput struct {
	Before BuildList // the host's build list without the plugins, e.g. Graph.BuildList of its go.mod
	After  BuildList // the build list with the plugins
	Graph  *Graph    // the requirement graph with the plugins, to say which plugin pulled each change
	// Plugins are the plugin modules (not packages); their edges from the
	// main module in Graph are where attribution starts.
	Plugins []string
	// HostVersion is the version of the host module the bundled source
	// is, from debug.ReadBuildInfo().Main.Version. When it is not a
	// semantic version ("(devel)", empty), requirements on the host module
	// are not checked.
	HostVersion string
}

// Compare returns every change the plugins make to the host's
// dependencies, ordered by kind and module.
func Compare(in DriftInput) []Drift {
	reach := pluginReach(in.Graph, in.Plugins)
	var ds []Drift
	ds = append(ds, moved(in, reach)...)
	ds = append(ds, majors(in, reach)...)
	ds = append(ds, hostRequired(in, reach)...)
	return ds
}

// pluginReach returns, for each plugin module, what its requirements reach.
func pluginReach(gr *Graph, plugins []string) map[string]map[module.Version]bool {
	out := map[string]map[module.Version]bool{}
	if gr == nil {
		return out
	}
	for _, req := range gr.Reqs[module.Version{Path: gr.Main}] {
		if slices.Contains(plugins, req.Path) {
			out[req.Path] = gr.reach(req)
		}
	}
	return out
}

// pullers returns the plugins whose requirements reach mod at a version
// for which pick is true.
func pullers(reach map[string]map[module.Version]bool, mod string, pick func(v string) bool) []string {
	var out []string
	for _, p := range sortedKeys(reach) {
		for m := range reach[p] {
			if m.Path == mod && pick(m.Version) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// moved finds the host's modules that the plugins select at another
// version, attributed to the plugins whose requirements reach the new
// version: without them, the module would not be there.
func moved(in DriftInput, reach map[string]map[module.Version]bool) []Drift {
	var ds []Drift
	for _, mod := range sortedKeys(in.Before) {
		old, now := in.Before[mod], in.After[mod]
		if now == "" || now == old {
			continue
		}
		atLeast := func(v string) bool { return semver.Compare(v, now) >= 0 }
		ds = append(ds, Drift{Kind: Moved, Module: mod, Old: old, New: now, Plugins: pullers(reach, mod, atLeast)})
	}
	return ds
}

// majors finds modules the plugins add that are another major version of
// a module the host uses.
func majors(in DriftInput, reach map[string]map[module.Version]bool) []Drift {
	hostByPrefix := map[string]string{}
	for mod := range in.Before {
		if prefix, _, ok := module.SplitPathVersion(mod); ok {
			hostByPrefix[prefix] = mod
		}
	}
	var ds []Drift
	for _, mod := range sortedKeys(in.After) {
		prefix, _, ok := module.SplitPathVersion(mod)
		base, used := hostByPrefix[prefix]
		if _, had := in.Before[mod]; had || !ok || !used {
			continue
		}
		all := func(string) bool { return true }
		ds = append(ds, Drift{Kind: MajorVersion, Module: mod, New: in.After[mod], Base: base, Old: in.Before[base], Plugins: pullers(reach, mod, all)})
	}
	return ds
}

// hostRequired finds requirements on the host module newer than the host.
func hostRequired(in DriftInput, reach map[string]map[module.Version]bool) []Drift {
	if in.Graph == nil || !semver.IsValid(in.HostVersion) {
		return nil
	}
	newest := ""
	for _, reqs := range in.Graph.Reqs {
		for _, r := range reqs {
			if r.Path == in.Graph.Main && semver.Compare(r.Version, in.HostVersion) > 0 && semver.Compare(r.Version, newest) > 0 {
				newest = r.Version
			}
		}
	}
	if newest == "" {
		return nil
	}
	newer := func(v string) bool { return semver.Compare(v, in.HostVersion) > 0 }
	return []Drift{{Kind: HostModule, Module: in.Graph.Main, Old: in.HostVersion, New: newest, Plugins: pullers(reach, in.Graph.Main, newer)}}
}

// DriftPolicy decides which drift stops a rebuild.
type DriftPolicy int

// The policies. The zero value allows and reports all drift.
const (
	AllowDrift        DriftPolicy = iota // report every drift, refuse none
	RefuseDrift                          // refuse any drift
	RefuseBeyondPatch                    // refuse drift beyond the patch level, and other major versions
)

// Check returns a *DriftError naming the drifts p refuses, or nil.
func (p DriftPolicy) Check(ds []Drift) error {
	var refused []Drift
	for _, d := range ds {
		if p == RefuseDrift || p == RefuseBeyondPatch && d.BeyondPatch() {
			refused = append(refused, d)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return &DriftError{Policy: p, Drifts: refused}
}

// DriftError reports the drifts a policy refuses.
type DriftError struct {
	Policy DriftPolicy
	Drifts []Drift
}

func (e *DriftError) Error() string {
	what := "plugins would move host dependencies"
	if e.Policy == RefuseBeyondPatch {
		what = "plugins would move host dependencies beyond the patch level"
	}
	return fmt.Sprintf("%s: %s: ask plugin versions that need no newer dependencies, or allow the drift", what, strings.Join(e.Modules(), ", "))
}

// Modules returns the modules refused, each with its change.
func (e *DriftError) Modules() []string {
	out := make([]string, len(e.Drifts))
	for i, d := range e.Drifts {
		out[i] = d.Brief()
	}
	return out
}
