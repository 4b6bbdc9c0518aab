//go:build e2e

package integration

import (
	"archive/tar"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// realHost is a real program from the module proxy, made a host that
// installs plugins into itself (add-plugin), with two real plugins for it.
type realHost struct {
	name     string   // sub-benchmark name, and the host module is example.com/NAME
	requires []string // "module version" lines of the host's go.mod
	// files are the host module's files: main.go (the host, with the
	// library) and nolib/main.go (the same program without it) at least.
	files map[string]string
	// first and second are the plugins of the first and the warm
	// rebuild: their specs, and how a plain build links them.
	first, second realPlugin
	// check runs the final binary with these arguments; its output must
	// contain each of want.
	check []string
	want  []string
}

// realPlugin is a plugin of a real host: the spec a rebuild installs, the
// version a plain build requires it at ("" when the host's build list has
// its module already), and how the rebuild registers it (a constructor
// plugin's Constructor and Register, as the rebuild's record says).
type realPlugin struct {
	spec, version string
	plugin        bundle.Plugin
}

// addPlugin is the host's side: Run with the host's settings. It is
// spliced into each real host's main.go.
const addPlugin = `
// addPlugin is "add-plugin [-o FILE] SPEC...": a rebuild with the plugins.
func addPlugin(opts selfcompile.Options) {
	fs := flag.NewFlagSet("add-plugin", flag.ExitOnError)
	output := fs.String("o", "", "write the rebuilt binary to ` + "`FILE`" + ` instead of replacing this one")
	fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts.Plugins, opts.Output, opts.Progress = fs.Args(), *output, os.Stderr
	if _, err := selfcompile.New(opts).Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "add-plugin:", err)
		os.Exit(1)
	}
}
`

// addPluginImports are the imports addPlugin needs.
const addPluginImports = `	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	selfcompile "github.com/selfcompile/go-selfcompile"
`

const caddyVersion = "v2.11.9"

// caddyHost is Caddy with its standard modules; its plugins register Caddy
// modules from init. The first rebuild installs one package of caddy-l4,
// the warm one the module's root, the form xcaddy users give: an
// aggregator of the two dozen packages that register.
var caddyHost = realHost{
	name:     "caddy",
	requires: []string{"github.com/caddyserver/caddy/v2 " + caddyVersion},
	files: map[string]string{
		"main.go": `// Command caddy is Caddy with the standard modules, able to rebuild
// itself with more: caddy add-plugin [-o FILE] SPEC...
package main

//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle

import (
` + addPluginImports + `
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "add-plugin" {
		addPlugin(selfcompile.Options{RegisterFuncs: []string{"github.com/caddyserver/caddy/v2.RegisterModule"}})
		return
	}
	caddycmd.Main()
}
` + addPlugin,
		"nolib/main.go": `package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() { caddycmd.Main() }
`,
	},
	first:  realPlugin{spec: "github.com/mholt/caddy-l4/layer4@v0.1.2", version: "v0.1.2", plugin: bundle.Plugin{Path: "github.com/mholt/caddy-l4/layer4"}},
	second: realPlugin{spec: "github.com/mholt/caddy-l4@v0.1.2", version: "v0.1.2", plugin: bundle.Plugin{Path: "github.com/mholt/caddy-l4"}},
	check:  []string{"list-modules"},
	want:   []string{"\nlayer4\n", "\nlayer4.handlers.proxy\n", "\nlayer4.matchers.tls\n", "\nhttp.handlers.reverse_proxy\n"},
}

// benthosServiceFuncs are Benthos' registration functions (public/service).
var benthosServiceFuncs = func() []string {
	var out []string
	for _, kind := range []string{"BatchBuffer", "BatchInput", "BatchOutput", "BatchProcessor", "BatchScannerCreator", "Cache", "Input", "MetricsExporter", "OtelTracerProvider", "Output", "Processor", "RateLimit", "TemplateYAML"} {
		out = append(out, "github.com/redpanda-data/benthos/v4/public/service.MustRegister"+kind, "github.com/redpanda-data/benthos/v4/public/service.Register"+kind)
	}
	return out
}()

// benthosHost is Benthos with no components; Benthos ships its components
// as aggregators of packages internal to its module, and the rebuilds
// install two of them, pure and io, with no version: they stay at the
// host's Benthos. (pure/extended is not one for this host: its init code
// calls an internal registry, none of the public service functions.)
var benthosHost = realHost{
	name:     "benthos",
	requires: []string{"github.com/redpanda-data/benthos/v4 v4.60.0"},
	files: map[string]string{
		"main.go": `// Command benthos is Benthos, able to rebuild itself with its
// components: benthos add-plugin [-o FILE] SPEC...
package main

//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle

import (
` + addPluginImports + `	"strings"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "add-plugin" {
		addPlugin(selfcompile.Options{RegisterFuncs: strings.Fields(` + "`" + strings.Join(benthosServiceFuncs, " ") + "`" + `)})
		return
	}
	service.RunCLI(context.Background())
}
` + addPlugin,
		"nolib/main.go": `package main

import (
	"context"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func main() { service.RunCLI(context.Background()) }
`,
	},
	first:  realPlugin{spec: "github.com/redpanda-data/benthos/v4/public/components/pure", plugin: bundle.Plugin{Path: "github.com/redpanda-data/benthos/v4/public/components/pure"}},
	second: realPlugin{spec: "github.com/redpanda-data/benthos/v4/public/components/io", plugin: bundle.Plugin{Path: "github.com/redpanda-data/benthos/v4/public/components/io"}},
	check:  []string{"list", "inputs"},
	want:   []string{"file", "stdin", "generate"},
}

// otelcolRegistry is the collector host's registry of factories, which
// the rebuilt binary feeds with each component's NewFactory().
const otelcolRegistry = `// Package registry holds the factories of the components installed into
// the collector, besides those it is built with.
package registry

import (
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
)

var (
	receivers  []receiver.Factory
	processors []processor.Factory
	exporters  []exporter.Factory
)

// AddReceiver, AddProcessor and AddExporter add a component's factory.
func AddReceiver(f receiver.Factory)   { receivers = append(receivers, f) }
func AddProcessor(f processor.Factory) { processors = append(processors, f) }
func AddExporter(f exporter.Factory)   { exporters = append(exporters, f) }

// Receivers, Processors and Exporters are the factories added.
func Receivers() []receiver.Factory   { return receivers }
func Processors() []processor.Factory { return processors }
func Exporters() []exporter.Factory   { return exporters }
`

// otelcolComponents is the collector's components(), as the collector
// builder (ocb) generates it, with the registry's factories appended.
const otelcolComponents = `
func components() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap(append([]receiver.Factory{otlpreceiver.NewFactory()}, registry.Receivers()...)...); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap(append([]processor.Factory{batchprocessor.NewFactory()}, registry.Processors()...)...); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap(append([]exporter.Factory{debugexporter.NewFactory()}, registry.Exporters()...)...); err != nil {
		return f, err
	}
	return f, nil
}

func collector() {
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol", Description: "a collector that installs components into itself", Version: "dev"},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()},
		}},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		os.Exit(1)
	}
}
`

// otelcolImports are the imports of otelcolComponents.
const otelcolImports = `	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"

	"example.com/otelcol/registry"
`

// otelcolHost is an OpenTelemetry Collector whose components register
// nothing: each exports NewFactory, which the rebuilt binary passes to the
// host's registry (Options.Constructors).
var otelcolHost = realHost{
	name: "otelcol",
	requires: []string{
		"go.opentelemetry.io/collector/otelcol v0.165.0",
		"go.opentelemetry.io/collector/receiver/otlpreceiver v0.165.0",
		"go.opentelemetry.io/collector/processor/batchprocessor v0.165.0",
		"go.opentelemetry.io/collector/exporter/debugexporter v0.165.0",
	},
	files: map[string]string{
		"registry/registry.go": otelcolRegistry,
		"main.go": `// Command otelcol is an OpenTelemetry Collector able to rebuild itself
// with more components: otelcol add-plugin [-o FILE] SPEC...
package main

//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle

import (
` + addPluginImports + otelcolImports + `)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "add-plugin" {
		addPlugin(selfcompile.Options{
			RegisterFuncs: []string{"example.com/otelcol/registry.AddReceiver", "example.com/otelcol/registry.AddProcessor", "example.com/otelcol/registry.AddExporter"},
			Constructors:  []string{"NewFactory"},
		})
		return
	}
	collector()
}
` + addPlugin + otelcolComponents,
		"nolib/main.go": `package main

import (
	"os"

` + otelcolImports + `)

func main() { collector() }
` + otelcolComponents,
	},
	first: realPlugin{spec: "go.opentelemetry.io/collector/processor/memorylimiterprocessor@v0.165.0", version: "v0.165.0", plugin: bundle.Plugin{
		Path: "go.opentelemetry.io/collector/processor/memorylimiterprocessor", Constructor: "NewFactory", Register: "example.com/otelcol/registry.AddProcessor"}},
	second: realPlugin{spec: "go.opentelemetry.io/collector/exporter/otlphttpexporter@v0.165.0", version: "v0.165.0", plugin: bundle.Plugin{
		Path: "go.opentelemetry.io/collector/exporter/otlphttpexporter", Constructor: "NewFactory", Register: "example.com/otelcol/registry.AddExporter"}},
	check: []string{"components"},
	want:  []string{"memory_limiter", "otlp_http", "batch", "debug"},
}

// nonPlugin is a real package that registers nothing (type definitions
// only), for the cold refusal every real host measures.
const nonPlugin = "golang.org/x/exp/constraints@latest"

// replacedVersion is the version a real host requires go-selfcompile at;
// a replace makes it the repository.
const replacedVersion = "v0.0.0-00010101000000-000000000000"

// BenchmarkRealHost measures go-selfcompile on real-size hosts built from
// their public modules, each a sub-benchmark: Caddy with its standard
// modules and caddy-l4 (init plugins, then an aggregator), Benthos with
// two of its aggregators, and an
// OpenTelemetry Collector with two components that register through a
// constructor. For each it generates the bundle and builds the host, then
// reports, in one run, each beside its plain go build counterpart:
//
//   - the bundle's parts (MiB and files);
//   - the binary with the bundle, the same program without the bundle
//     files, and without the library at all (library-MB is the difference
//     of the last two);
//   - the first rebuild, installing the first plugin on an empty user
//     cache, against a plain go build of the same final program (host and
//     plugin, no bundle) on an empty GOCACHE;
//   - the warm rebuild, adding the second plugin to the rebuilt binary on
//     the same cache, against a plain go build after adding the same;
//   - the rebuild's build cache after the two rebuilds against the plain
//     builds' GOCACHE;
//   - the refusal of a package that registers nothing on another empty
//     cache, against the first rebuild (refusal-vs-install).
//
// The plain builds' downloads (go get) are not timed; the rebuilds fetch
// the plugin modules they lack from the proxy as part of their run.
//
// It downloads from the module proxy (the GOPROXY of the environment or
// of go env), so it runs only when asked:
//
//	SELFCOMPILE_REALHOST=1 go test -tags e2e -run '^$' -bench RealHost -benchtime 1x -timeout 80m ./integration/
//
// (-bench RealHost/otelcol for one host). With
// SELFCOMPILE_REALHOST_PROFILE=DIR, the warm rebuild and the warm plain
// build run under perf record -a, into DIR/HOST-warm-{rebuild,build}.data.
func BenchmarkRealHost(b *testing.B) {
	if os.Getenv("SELFCOMPILE_REALHOST") != "1" {
		b.Skip("BenchmarkRealHost downloads real hosts and plugins from the module proxy; run it with SELFCOMPILE_REALHOST=1 go test -tags e2e -run '^$' -bench RealHost -benchtime 1x -timeout 80m ./integration/")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	for _, h := range []realHost{caddyHost, benthosHost, otelcolHost} {
		b.Run(h.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchRealHost(b, repo, h)
			}
		})
	}
}

func benchRealHost(b *testing.B, repo string, h realHost) {
	dir := b.TempDir()
	host := filepath.Join(dir, h.name)
	bin := func(name string) string { return filepath.Join(dir, "bin", name) }

	// The host module, its bundle and its binary. The developer's go
	// commands use the network, the developer's module and build
	// caches, and the test run's generator cache.
	gomod := "module example.com/" + h.name + "\n\ngo 1.26\n\nrequire (\n"
	for _, r := range append(slices.Clone(h.requires), "github.com/selfcompile/go-selfcompile "+replacedVersion) {
		gomod += "\t" + r + "\n"
	}
	gomod += ")\n\nreplace github.com/selfcompile/go-selfcompile => " + repo + "\n"
	files := maps.Clone(h.files)
	files["go.mod"] = gomod
	for name, src := range files {
		if err := writeFile(filepath.Join(host, filepath.FromSlash(name)), []byte(src)); err != nil {
			b.Fatal(err)
		}
	}
	devEnv := hostGoEnv()
	run(b, true, host, devEnv, "go", "mod", "tidy")
	// go run of the generator needs the go.sum lines of its own
	// dependencies, which tidy does not keep for a package the module
	// does not import; -mod=mod adds them. (go get of the command
	// would look its path up as a module on the proxy first.)
	run(b, true, host, append(hostGoEnv(), "GOFLAGS=-mod=mod"), "go", "generate")
	reportBundle(b, host)
	run(b, true, host, devEnv, "go", "build", "-o", bin("host"), ".")

	// Size: with the bundle, without it, without the library.
	removeBundle(b, host)
	run(b, true, host, devEnv, "go", "build", "-o", bin("nobundle"), ".")
	run(b, true, host, devEnv, "go", "build", "-o", bin("nolib"), "./nolib")
	withBundle, noBundle, noLib := fileSize(b, bin("host")), fileSize(b, bin("nobundle")), fileSize(b, bin("nolib"))
	b.ReportMetric(float64(withBundle)/(1<<20), "binary-MiB")
	b.ReportMetric(float64(noBundle)/(1<<20), "nobundle-binary-MiB")
	b.ReportMetric(float64(withBundle)/float64(noBundle), "size-ratio")
	b.ReportMetric(float64(noLib)/(1<<20), "nolib-binary-MiB")
	b.ReportMetric(float64(noBundle-noLib)/1e6, "library-MB")

	// The rebuilds: the first on an empty user cache, the second from
	// the rebuilt binary on the same cache. Both use the network.
	userCache := filepath.Join(dir, "usercache")
	rebuildEnv := realHostEnv("XDG_CACHE_HOME=" + userCache)
	var out1, out2 string
	coldRebuild := timeIt(b, func() {
		out1 = run(b, true, dir, rebuildEnv, bin("host"), "add-plugin", "-o", bin("rebuilt1"), h.first.spec)
	})
	warmRebuild := timeIt(b, func() {
		argv := profiled(b, h.name+"-warm-rebuild", bin("rebuilt1"), "add-plugin", "-o", bin("rebuilt2"), h.second.spec)
		out2 = run(b, true, dir, rebuildEnv, argv[0], argv[1:]...)
	})
	// A package that registers nothing, on another empty cache: refused
	// from its source and go list, before anything is compiled.
	refusal := timeIt(b, func() {
		out := run(b, false, dir, realHostEnv("XDG_CACHE_HOME="+filepath.Join(dir, "refusalcache")), bin("host"), "add-plugin", "-o", bin("refused"), nonPlugin)
		if !strings.Contains(out, "verify: plugin "+strings.Split(nonPlugin, "@")[0]) || !strings.Contains(out, "has no init code") {
			b.Fatalf("%s was not refused by verify for having no init code", nonPlugin)
		}
	})
	b.ReportMetric(refusal.Seconds(), "refusal-cold-s")
	b.ReportMetric(refusal.Seconds()/coldRebuild.Seconds(), "refusal-vs-install")
	// Trimmed modules the plugins needed more of, completed from the proxy.
	b.ReportMetric(float64(strings.Count(out1+out2, "completed module ")), "completed-modules")
	got := run(b, true, dir, realHostEnv(), bin("rebuilt2"), h.check...)
	for _, w := range h.want {
		if !strings.Contains(got, w) {
			b.Fatalf("%s %s of the rebuilt binary lacks %q", h.name, strings.Join(h.check, " "), w)
		}
	}

	// The same final programs built by plain go build, without the
	// bundle: the plugin linked as the rebuild links it and required
	// (downloaded before the clock starts), then the second one added.
	gocache := filepath.Join(dir, "gocache")
	plainEnv := append(hostGoEnv(), "GOCACHE="+gocache)
	linkPlugins(b, host, h.first)
	coldBuild := timeIt(b, func() {
		run(b, true, host, plainEnv, "go", "build", "-o", bin("plain1"), ".")
	})
	linkPlugins(b, host, h.first, h.second)
	warmBuild := timeIt(b, func() {
		argv := profiled(b, h.name+"-warm-build", "go", "build", "-o", bin("plain2"), ".")
		run(b, true, host, plainEnv, argv[0], argv[1:]...)
	})

	reportTimes(b, coldRebuild, coldBuild, warmRebuild, warmBuild)
	b.ReportMetric(float64(fileSize(b, bin("rebuilt2")))/(1<<20), "rebuilt-binary-MiB")
	b.ReportMetric(float64(fileSize(b, bin("plain2")))/(1<<20), "plain-binary-MiB")

	// Build cache growth over the two builds of each.
	rebuildCache := dirSize(b, filepath.Join(userCache, "go-selfcompile", "gocache"))
	plainCache := dirSize(b, gocache)
	b.ReportMetric(float64(rebuildCache)/(1<<20), "rebuild-gocache-MiB")
	b.ReportMetric(float64(plainCache)/(1<<20), "gobuild-gocache-MiB")
	b.ReportMetric(float64(rebuildCache)/float64(plainCache), "gocache-ratio")
	b.ReportMetric(float64(dirSize(b, filepath.Join(userCache, "go-selfcompile")))/(1<<20), "rebuild-usercache-MiB")
	makeWritable(dir)
}

// profiled returns the command line cmd, run under perf record -a into
// $SELFCOMPILE_REALHOST_PROFILE/NAME.data when that directory is set, for
// "perf report --sort comm" (processor time per command); cmd as it is
// otherwise. Profiled times are not the benchmark's figures.
func profiled(b *testing.B, name string, cmd ...string) []string {
	dir := os.Getenv("SELFCOMPILE_REALHOST_PROFILE")
	if dir == "" {
		return cmd
	}
	b.Logf("profiling %s into %s", name, dir)
	return append([]string{"perf", "record", "-a", "-q", "-o", filepath.Join(dir, name+".data"), "--"}, cmd...)
}

// linkPlugins writes plugins.go in the main package at dir, linking the
// plugins as a rebuild's plugins file does, and requires the versions
// asked (go get, untimed).
func linkPlugins(b *testing.B, dir string, plugins ...realPlugin) {
	b.Helper()
	var ps []bundle.Plugin
	for _, p := range plugins {
		ps = append(ps, p.plugin)
		if p.version != "" {
			run(b, true, dir, hostGoEnv(), "go", "get", p.plugin.Path+"@"+p.version)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins.go"), bundle.PluginsSource(ps, "example.com/"+filepath.Base(dir)), 0o644); err != nil {
		b.Fatal(err)
	}
	// The go.sum lines of what a plugin of a module already required
	// brings (Benthos' components).
	run(b, true, dir, hostGoEnv(), "go", "mod", "tidy")
}

// realHostEnv is the environment of the real host's commands: the
// machine's own, with its GOPROXY (the network), without the settings the
// test run or an outer smoke test may have left, plus extra.
func realHostEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "GOFLAGS", "XDG_CACHE_HOME", "GO_SELFCOMPILE_SMOKE":
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// reportBundle reports the size and the number of files of every part of
// the bundle generated in dir.
func reportBundle(b *testing.B, dir string) {
	b.Helper()
	reportParts(b, dir)
	for _, part := range []string{"toolchain", "source", "modules"} {
		n, err := countTarFiles(filepath.Join(dir, "selfcompile_bundle_"+part+".tar.zst"))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), part+"-files")
	}
}

// countTarFiles counts the regular files of a zstd-compressed tar archive.
func countTarFiles(name string) (int, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	tr, n := tar.NewReader(zr), 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if h.Typeflag == tar.TypeReg {
			n++
		}
	}
}

// removeBundle deletes the generated bundle files of the package in dir.
func removeBundle(b *testing.B, dir string) {
	b.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, "selfcompile_bundle*"))
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			b.Fatal(err)
		}
	}
}

// dirSize is the total size of the regular files under dir.
func dirSize(b *testing.B, dir string) int64 {
	b.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
