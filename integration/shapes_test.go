//go:build e2e

package integration

import (
	"bytes"
	"encoding/json"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/goproxytest"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// factoryHost is example/factoryhost, built once per run with its bundle.
var factoryHost struct {
	once sync.Once
	bin  string
}

func factoryBinary(t *testing.T) string {
	t.Helper()
	exampleBinary(t) // the module copy, generated once
	factoryHost.once.Do(func() {
		hostEnv := hostGoEnv()
		run(t, true, filepath.Join(shared.repo, "example", "factoryhost"), hostEnv, "go", "generate")
		bin := filepath.Join(filepath.Dir(shared.repo), "bin", "factoryhost")
		run(t, true, shared.repo, hostEnv, "go", "build", "-o", bin, "./example/factoryhost")
		factoryHost.bin = bin
	})
	if factoryHost.bin == "" {
		t.Fatal("building the factory host failed in an earlier test")
	}
	return install(t, factoryHost.bin)
}

// TestConstructorPlugins installs plugins shaped like OpenTelemetry
// Collector components into a host that keeps a registry of factories:
// each registers nothing and exports NewFactory, and the rebuilt binary
// passes its result to the registration function that takes it. A
// constructor that fits none, or two, is refused naming the types, with
// the binary untouched; the constructions installed carry over to the
// next rebuild.
func TestConstructorPlugins(t *testing.T) {
	bin := factoryBinary(t)
	dir := filepath.Dir(bin)
	before := testkit.Snapshot(t, dir)
	for spec, want := range map[string]string{
		"example.com/freceiver@v1.0.0": "plugin example.com/freceiver@v1.0.0 registers nothing from its init code, and no constructor of it fits the host's registration functions: NewFactory returns freceiver.Factory, which none of them takes (github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddProcessor takes component.ProcessorFactory; github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddExporter takes component.ExporterFactory)",
		"example.com/fboth@v1.0.0":     "plugin example.com/fboth@v1.0.0 registers nothing from its init code, and its constructors fit more than one of the host's registration functions: NewFactory() fboth.Factory to github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddProcessor, NewFactory() fboth.Factory to github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddExporter",
	} {
		out := run(t, false, dir, env(), bin, "plugins", "add", spec)
		mustContain(t, out, want)
		if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
			t.Errorf("a refused %s changed the directory:\nbefore %v\nafter  %v", spec, before, after)
		}
	}

	cmd := exec.Command(bin, "plugins", "add", "--json", "example.com/fprocessor@v1.0.0")
	cmd.Dir, cmd.Env = dir, env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("plugins add fprocessor: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var res struct {
		Checks []struct {
			Path        string
			Constructor *struct{ Func, Register, Type string }
		}
	}
	builds := 0
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var v struct {
			Event  *event          `json:"event"`
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal([]byte(line), &v) != nil {
			continue
		}
		if e := v.Event; e != nil && e.Kind == "go" && len(e.Args) > 0 && e.Args[0] == "build" {
			builds++
		}
		if v.Result != nil {
			if err := json.Unmarshal(v.Result, &res); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A plugin new to a host that takes constructors waits for verify's
	// choice: one go build, the main package compiled and linked once.
	if builds != 1 {
		t.Errorf("%d go builds ran, want 1", builds)
	}
	if len(res.Checks) != 1 || res.Checks[0].Constructor == nil || res.Checks[0].Constructor.Register != "github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddProcessor" || res.Checks[0].Constructor.Type != "component.ProcessorFactory" {
		t.Errorf("checks %+v: want fprocessor's NewFactory passed to registry.AddProcessor", res.Checks)
	}
	mustContain(t, runStdin(t, dir, bin, "hello\n"), "components: [processor/upper]")
	inspect := run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", bin)
	mustContain(t, inspect, "example.com/fprocessor v1.0.0, registered as github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddProcessor(NewFactory())")

	// The second rebuild starts from the first's record: both are called.
	out := run(t, true, dir, env(), bin, "plugins", "add", "example.com/fexporter@v1.0.0")
	mustContain(t, out, "plugins: example.com/fexporter registers through its constructor: github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddExporter(NewFactory()), a *fexporter.Factory")
	out = runStdin(t, dir, bin, "hello\n")
	mustContain(t, out, "components: [exporter/stdout processor/upper]", "HELLO")
	mustContain(t, run(t, true, dir, env(), bin, "plugins", "list"), "example.com/fexporter v1.0.0", "example.com/fprocessor v1.0.0")
	run(t, true, dir, env(), bin, "plugins", "remove", "example.com/fprocessor")
	mustContain(t, runStdin(t, dir, bin, "hello\n"), "components: [exporter/stdout]")
}

// TestConstructorPluginUpgrade: a constructor plugin installed with no
// version moves with plugins upgrade once a newer version is published,
// and is constructed as before; a pinned one beside it stays. The
// upgrade's build starts beside verify with the call the record holds,
// and runs once.
func TestConstructorPluginUpgrade(t *testing.T) {
	bin := factoryBinary(t)
	dir := filepath.Dir(bin)
	// When the plugins are installed, the proxy has fprocessor v1.0.0
	// only; the shared one, which upgrade asks, has v1.1.0 too.
	published := t.TempDir()
	for _, name := range []string{"example.com_fprocessor_v1.0.0.txtar", "example.com_fexporter_v1.0.0.txtar"} {
		if err := copyFile(filepath.Join("..", "testdata", "mod", name), filepath.Join(published, name)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := goproxytest.NewServer(published, "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	run(t, true, dir, env("GOPROXY="+srv.URL), bin, "plugins", "add", "example.com/fprocessor", "example.com/fexporter@v1.0.0")
	mustContain(t, runStdin(t, dir, bin, "hello\n"), "components: [exporter/stdout processor/upper]", "HELLO\n")
	mustContain(t, run(t, true, dir, env(), bin, "plugins", "list"), "example.com/fprocessor v1.0.0 (asked latest)\n")

	cmd := exec.Command(bin, "plugins", "upgrade", "--json")
	cmd.Dir, cmd.Env = dir, env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("plugins upgrade: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	mustContain(t, stderr.String(),
		"plugins: left example.com/fexporter at v1.0.0: pinned (add example.com/fexporter@latest to move it)\n",
		"plugins: example.com/fprocessor v1.0.0 -> v1.1.0\n")
	if n := goBuilds(stdout.String()); n != 1 {
		t.Errorf("%d go builds ran, want 1:\n%s", n, stdout.String())
	}
	mustContain(t, runStdin(t, dir, bin, "hello\n"), "components: [exporter/stdout processor/upper]", "HELLO!\n")
	mustContain(t, run(t, true, dir, env(), bin, "plugins", "list"), "example.com/fprocessor v1.1.0 (asked latest)\n", "example.com/fexporter v1.0.0\n")
	inspect := run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", bin)
	mustContain(t, inspect, "example.com/fprocessor v1.1.0 (asked latest), registered as github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddProcessor(NewFactory())")
}

// goBuilds counts the go build commands among the events of a --json
// run's output.
func goBuilds(out string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		var v struct {
			Event *event `json:"event"`
		}
		if json.Unmarshal([]byte(line), &v) != nil {
			continue
		}
		if e := v.Event; e != nil && e.Kind == "go" && len(e.Args) > 0 && e.Args[0] == "build" {
			n++
		}
	}
	return n
}

// runStdin runs bin with input on its standard input and returns what it
// printed.
func runStdin(t *testing.T, dir, bin, input string) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir, cmd.Env = dir, env()
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	return string(out)
}

// TestAggregatorPlugins installs a package that only imports packages
// that register, one internal to its module and one of another module,
// and refuses one whose imports register nothing new (a package with no
// init code, and the host's own registry, whose init ran before).
func TestAggregatorPlugins(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	before := testkit.Snapshot(t, dir)
	out := run(t, false, dir, env(), bin, "--plugin", "example.com/aggnone@v1.0.0")
	mustContain(t, out, "verify: plugin example.com/aggnone@v1.0.0 has no init code (no func init with a body, no package-level variable initialised by a function call), nor does the one package it brings into the build that the host's build does not already link (example.com/aggdep/pure) import github.com/selfcompile/go-selfcompile/example/abinary/registry, so importing it registers nothing.")
	if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("a refused aggregator changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	run(t, true, dir, env(), bin, "--plugin", "example.com/agg@v1.0.0")
	mustContain(t, run(t, true, dir, env(), bin), "registered: [agg/internal/impl aggdep/reg]")
	// Upgrading it (again, at the same module) checks it the same way,
	// though the running binary links what it brings.
	run(t, true, dir, env(), bin, "plugins", "add", "example.com/agg@latest", "example.com/bplugin@v1.0.0")
	mustContain(t, run(t, true, dir, env(), bin), "agg/internal/impl aggdep/reg")
}

// TestRefusalCompilesNothing: on a fresh cache, where a build would
// compile the standard library and every dependency first, a plugin that
// brings nothing that can register is refused by verify from its source
// and go list alone: verify runs no go command that compiles (export
// data) and never waits for the build's compile (it reports no progress
// of it).
func TestRefusalCompilesNothing(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	cmd := exec.Command(bin, "plugins", "add", "--json", "example.com/aggnone@v1.0.0")
	cmd.Dir, cmd.Env = dir, env("XDG_CACHE_HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("plugins add aggnone: %v, want exit status 2 (refused)\n%s%s", err, stdout.String(), stderr.String())
	}
	verifyFailed := false
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var v struct {
			Event *event `json:"event"`
		}
		if json.Unmarshal([]byte(line), &v) != nil || v.Event == nil {
			continue
		}
		e := v.Event
		switch {
		case e.Stage == "verify" && e.Kind == "failed":
			verifyFailed = true
		case e.Stage == "verify" && e.Kind == "progress":
			t.Errorf("verify reported compile progress %d/%d: it waited for the build's compile", *e.Done, *e.Total)
		case e.Stage == "verify" && e.Kind == "go" && (slicesContain(e.Args, "-export=true") || slicesContain(e.Args, "-compiled=true")):
			t.Errorf("verify ran go %s, which compiles", strings.Join(e.Args, " "))
		}
	}
	if !verifyFailed {
		t.Errorf("no failed verify event:\n%s", stdout.String())
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
