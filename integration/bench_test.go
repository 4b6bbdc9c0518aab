//go:build e2e

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRebuild measures a rebuild that installs example.com/aplugin
// into the example binary, on a cold cache (toolchain not yet extracted,
// standard library not yet compiled) and on a warm one, each beside a
// plain go build of the same final program without the bundle with a cold
// and a warm build cache, in the same run (and, warm, with the bundle:
// warm-gobuild-bundle-s). It also reports the bundle's parts and the
// binary's size with and without the bundle.
//
//	go test -tags e2e -run '^$' -bench Rebuild -benchtime 1x ./integration/
func BenchmarkRebuild(b *testing.B) {
	abinary := exampleBinary(b)
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		coldCache := filepath.Join(dir, "cache")
		out := filepath.Join(dir, "rebuilt")

		// Cold: a user cache that has never seen the toolchain.
		coldRebuild := timeIt(b, func() {
			run(b, true, dir, env("XDG_CACHE_HOME="+coldCache), abinary, "--output", out, "--plugin", "example.com/aplugin@v1.2.0")
		})
		warmRebuild := timeIt(b, func() {
			run(b, true, dir, env("XDG_CACHE_HOME="+coldCache), abinary, "--output", out, "--plugin", "example.com/aplugin@v1.3.0")
		})

		// The same final program built by plain go build, without the
		// bundle: the module copy with the plugin imported and required.
		src := filepath.Join(dir, "src")
		if err := copyTree(shared.repo, src); err != nil {
			b.Fatal(err)
		}
		mainDir := filepath.Join(src, "example", "abinary")
		for _, m := range globBundle(b, mainDir) {
			if err := os.Remove(m); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(mainDir, "plugins.go"),
			[]byte("package main\n\nimport _ \"example.com/aplugin\"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		goEnv := append(hostGoEnv(), "GOPROXY="+shared.proxyURL, "GONOSUMDB=example.com", "GOFLAGS=-mod=mod")
		run(b, true, src, goEnv, "go", "get", "example.com/aplugin@v1.2.0")
		coldGoEnv := append(goEnv, "GOCACHE="+filepath.Join(dir, "gocache"))
		coldBuild := timeIt(b, func() {
			run(b, true, src, coldGoEnv, "go", "build", "-o", filepath.Join(dir, "plain1"), "./example/abinary")
		})
		run(b, true, src, goEnv, "go", "get", "example.com/aplugin@v1.3.0")
		warmBuild := timeIt(b, func() {
			run(b, true, src, coldGoEnv, "go", "build", "-o", filepath.Join(dir, "plain2"), "./example/abinary")
		})
		reportTimes(b, coldRebuild, coldBuild, warmRebuild, warmBuild)

		// The same, warm, with the bundle embedded, as a rebuild's build
		// is: what linking the bundle costs.
		copyBundle(b, filepath.Join(shared.repo, "example", "abinary"), mainDir)
		os.Remove(filepath.Join(mainDir, "selfcompile_bundle_plugins.go"))
		run(b, true, src, coldGoEnv, "go", "build", "-o", filepath.Join(dir, "plain3"), "./example/abinary")
		run(b, true, src, goEnv, "go", "get", "example.com/aplugin@v1.2.0")
		warmBundleBuild := timeIt(b, func() {
			run(b, true, src, coldGoEnv, "go", "build", "-o", filepath.Join(dir, "plain4"), "./example/abinary")
		})
		b.ReportMetric(warmBundleBuild.Seconds(), "warm-gobuild-bundle-s")

		// Size: the rebuilt binary against the same program without a bundle.
		withBundle, noBundle := fileSize(b, out), fileSize(b, filepath.Join(dir, "plain2"))
		b.ReportMetric(float64(withBundle)/(1<<20), "binary-MiB")
		b.ReportMetric(float64(noBundle)/(1<<20), "plain-binary-MiB")
		b.ReportMetric(float64(withBundle)/float64(noBundle), "size-ratio")
		reportParts(b, filepath.Join(shared.repo, "example", "abinary"))
		makeWritable(dir)
	}
}

// reportTimes reports a rebuild's times beside plain go build's of the
// same program in the same run, and their ratios.
func reportTimes(b *testing.B, coldRebuild, coldBuild, warmRebuild, warmBuild time.Duration) {
	b.ReportMetric(coldRebuild.Seconds(), "cold-rebuild-s")
	b.ReportMetric(coldBuild.Seconds(), "cold-gobuild-s")
	b.ReportMetric(coldRebuild.Seconds()/coldBuild.Seconds(), "cold-ratio")
	b.ReportMetric(warmRebuild.Seconds(), "warm-rebuild-s")
	b.ReportMetric(warmBuild.Seconds(), "warm-gobuild-s")
	b.ReportMetric(warmRebuild.Seconds()/warmBuild.Seconds(), "warm-ratio")
}

func timeIt(b *testing.B, f func()) time.Duration {
	b.Helper()
	start := time.Now()
	f()
	return time.Since(start)
}

func fileSize(b testing.TB, name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

func copyBundle(b *testing.B, from, to string) {
	for _, m := range globBundle(b, from) {
		if err := copyFile(m, filepath.Join(to, filepath.Base(m))); err != nil {
			b.Fatal(err)
		}
	}
}

// globBundle lists the generated bundle files of the main package in dir.
func globBundle(b *testing.B, dir string) []string {
	matches, err := filepath.Glob(filepath.Join(dir, "selfcompile_bundle*"))
	if err != nil {
		b.Fatal(err)
	}
	return matches
}

func reportParts(b *testing.B, dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "selfcompile_bundle_manifest.json"))
	if err != nil {
		b.Fatal(err)
	}
	var m struct {
		Parts map[string]struct{ Size int64 }
	}
	if err := json.Unmarshal(data, &m); err != nil {
		b.Fatal(err)
	}
	for name, p := range m.Parts {
		b.ReportMetric(float64(p.Size)/(1<<20), name+"-MiB")
	}
}

// BenchmarkLibraryCost measures what importing the library costs a host
// binary, with no bundle: a small program that lists its database/sql
// drivers, built with and without a call to selfcompile.New(...).Run, in
// a module that requires this one (replaced by the repository), with
// default flags and with -ldflags=-s -w.
//
//	go test -tags e2e -run '^$' -bench LibraryCost -benchtime 1x ./integration/
func BenchmarkLibraryCost(b *testing.B) {
	repo, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	without := "package main\n\nimport (\n\t\"database/sql\"\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tfmt.Println(sql.Drivers(), len(os.Args))\n}\n"
	with := "package main\n\nimport (\n\t\"context\"\n\t\"database/sql\"\n\t\"fmt\"\n\t\"os\"\n\n\tselfcompile \"github.com/selfcompile/go-selfcompile\"\n)\n\n" +
		"func main() {\n\tfmt.Println(sql.Drivers(), len(os.Args))\n\tif len(os.Args) > 1 {\n\t\tres, err := selfcompile.New(selfcompile.Options{Plugins: os.Args[1:]}).Run(context.Background())\n\t\tfmt.Println(res, err)\n\t}\n}\n"
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		gomod := "module example.com/sizehost\n\ngo 1.26\n\nrequire github.com/selfcompile/go-selfcompile v0.0.0\n\nreplace github.com/selfcompile/go-selfcompile => " + repo + "\n"
		for name, src := range map[string]string{"go.mod": gomod, "without/main.go": without, "with/main.go": with} {
			if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(src)); err != nil {
				b.Fatal(err)
			}
		}
		inheritRequirements(b, repo, dir)
		goEnv := append(hostGoEnv(), "GOFLAGS=-mod=mod", "GOPROXY=off")
		size := func(pkg string, flags ...string) float64 {
			out := filepath.Join(dir, "bin", fmt.Sprintf("%s-%d", pkg, len(flags)))
			run(b, true, dir, goEnv, "go", append(append([]string{"build", "-o", out}, flags...), "./"+pkg)...)
			return float64(fileSize(b, out)) / 1e6
		}
		w, wo := size("with"), size("without")
		ws, wos := size("with", "-ldflags=-s -w"), size("without", "-ldflags=-s -w")
		b.ReportMetric(wo, "plain-MB")
		b.ReportMetric(w, "with-library-MB")
		b.ReportMetric(w-wo, "library-MB")
		b.ReportMetric(ws-wos, "library-stripped-MB")
	}
}
