//go:build e2e

package integration

import (
	"archive/tar"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// The real host of BenchmarkRealHost: Caddy at a fixed version, and two
// packages of a real Caddy plugin module that register Caddy modules from
// init.
const (
	caddyVersion = "v2.11.9"
	caddyL4      = "github.com/mholt/caddy-l4"
	l4Version    = "v0.1.2"
	l4First      = caddyL4 + "/layer4"          // the first rebuild's plugin
	l4Second     = caddyL4 + "/modules/l4proxy" // the warm rebuild's plugin

	// replacedVersion is the version the host requires go-selfcompile
	// at; a replace makes it the repository.
	replacedVersion = "v0.0.0-00010101000000-000000000000"
)

// caddyHostMain is the host: Caddy's own command, which installs plugins
// into itself when asked to with add-plugin.
const caddyHostMain = `// Command caddyhost is Caddy with the standard modules, able to rebuild
// itself with more:
//
//	caddyhost add-plugin [-o FILE] SPEC...
package main

//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle

import (
	"context"
	"flag"
	"fmt"
	"os"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	selfcompile "github.com/selfcompile/go-selfcompile"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "add-plugin" {
		fs := flag.NewFlagSet("add-plugin", flag.ExitOnError)
		output := fs.String("o", "", "write the rebuilt binary to ` + "`FILE`" + ` instead of replacing this one")
		fs.Parse(os.Args[2:])
		_, err := selfcompile.New(selfcompile.Options{
			Plugins:       fs.Args(),
			Output:        *output,
			Progress:      os.Stderr,
			RegisterFuncs: []string{"github.com/caddyserver/caddy/v2.RegisterModule"},
		}).Run(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "caddyhost:", err)
			os.Exit(1)
		}
		return
	}
	caddycmd.Main()
}
`

// caddyNoLibMain is the same program without the library.
const caddyNoLibMain = `package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() { caddycmd.Main() }
`

// BenchmarkRealHost measures go-selfcompile on a real-size host: Caddy
// (about 170 modules) with the standard modules, fetched from the module
// proxy, as a module example.com/caddyhost that requires this repository
// through a replace. It generates the bundle and builds the host, then
// reports, in one run, each beside its plain go build counterpart:
//
//   - the bundle's parts (MiB and files);
//   - the binary with the bundle, the same program without the bundle
//     files, and without the library at all (library-MB is the difference
//     of the last two);
//   - the first rebuild, installing caddy-l4's layer4 on an empty user
//     cache, against a plain go build of the same final program (host and
//     plugin, no bundle) on an empty GOCACHE;
//   - the warm rebuild, adding caddy-l4's l4proxy to the rebuilt binary on
//     the same cache, against a plain go build after adding the same import;
//   - the rebuild's build cache after the two rebuilds against the plain
//     builds' GOCACHE.
//
// The plain builds' downloads (go get) are not timed; the rebuilds fetch
// the plugin modules they lack from the proxy as part of their run.
//
// It downloads from the module proxy (the GOPROXY of the environment or
// of go env), so it runs only when asked:
//
//	SELFCOMPILE_REALHOST=1 go test -tags e2e -run '^$' -bench RealHost -benchtime 1x -timeout 60m ./integration/
func BenchmarkRealHost(b *testing.B) {
	if os.Getenv("SELFCOMPILE_REALHOST") != "1" {
		b.Skip("BenchmarkRealHost downloads Caddy and a plugin from the module proxy; run it with SELFCOMPILE_REALHOST=1 go test -tags e2e -run '^$' -bench RealHost -benchtime 1x -timeout 60m ./integration/")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		host := filepath.Join(dir, "caddyhost")
		bin := func(name string) string { return filepath.Join(dir, "bin", name) }

		// The host module, its bundle and its binary. The developer's go
		// commands use the network, the developer's module and build
		// caches, and the test run's generator cache.
		gomod := "module example.com/caddyhost\n\ngo 1.26\n\nrequire (\n" +
			"\tgithub.com/caddyserver/caddy/v2 " + caddyVersion + "\n" +
			"\tgithub.com/selfcompile/go-selfcompile " + replacedVersion + "\n)\n\n" +
			"replace github.com/selfcompile/go-selfcompile => " + repo + "\n"
		for name, src := range map[string]string{"go.mod": gomod, "main.go": caddyHostMain, "nolib/main.go": caddyNoLibMain} {
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
		run(b, true, host, devEnv, "go", "build", "-o", bin("caddyhost"), ".")

		// Size: with the bundle, without it, without the library.
		removeBundle(b, host)
		run(b, true, host, devEnv, "go", "build", "-o", bin("nobundle"), ".")
		run(b, true, host, devEnv, "go", "build", "-o", bin("nolib"), "./nolib")
		withBundle, noBundle, noLib := fileSize(b, bin("caddyhost")), fileSize(b, bin("nobundle")), fileSize(b, bin("nolib"))
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
			out1 = run(b, true, dir, rebuildEnv, bin("caddyhost"), "add-plugin", "-o", bin("rebuilt1"), l4First+"@"+l4Version)
		})
		warmRebuild := timeIt(b, func() {
			out2 = run(b, true, dir, rebuildEnv, bin("rebuilt1"), "add-plugin", "-o", bin("rebuilt2"), l4Second+"@"+l4Version)
		})
		// Trimmed modules the plugins needed more of, completed from the proxy.
		b.ReportMetric(float64(strings.Count(out1+out2, "completed module ")), "completed-modules")
		modules := run(b, true, dir, realHostEnv(), bin("rebuilt2"), "list-modules")
		for _, id := range []string{"layer4", "layer4.handlers.proxy", "http.handlers.reverse_proxy"} {
			if !strings.Contains(modules, "\n"+id+"\n") {
				b.Fatalf("the rebuilt binary lacks Caddy module %s", id)
			}
		}

		// The same final programs built by plain go build, without the
		// bundle: the plugin imported and required (downloaded before the
		// clock starts), then the second one added.
		gocache := filepath.Join(dir, "gocache")
		plainEnv := append(hostGoEnv(), "GOCACHE="+gocache)
		addImports(b, host, l4First)
		run(b, true, host, devEnv, "go", "get", l4First+"@"+l4Version)
		coldBuild := timeIt(b, func() {
			run(b, true, host, plainEnv, "go", "build", "-o", bin("plain1"), ".")
		})
		addImports(b, host, l4First, l4Second)
		run(b, true, host, devEnv, "go", "get", l4Second+"@"+l4Version)
		warmBuild := timeIt(b, func() {
			run(b, true, host, plainEnv, "go", "build", "-o", bin("plain2"), ".")
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

// addImports writes plugins.go in the main package at dir, importing the
// packages for their side effects, as a rebuild's plugin file does.
func addImports(b *testing.B, dir string, pkgs ...string) {
	b.Helper()
	src := "package main\n\nimport (\n"
	for _, p := range pkgs {
		src += "\t_ \"" + p + "\"\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins.go"), []byte(src+")\n"), 0o644); err != nil {
		b.Fatal(err)
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
