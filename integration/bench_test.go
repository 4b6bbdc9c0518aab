//go:build e2e

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRebuild measures a rebuild that installs example.com/aplugin
// into the example binary, on a cold cache (toolchain not yet extracted,
// standard library not yet compiled) and on a warm one, each beside a
// plain go build of the same final program with a cold and a warm build
// cache, in the same run. It also reports the bundle's parts and the
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

		// The same final program built by plain go build: the module copy
		// with the plugin imported and required.
		src := filepath.Join(dir, "src")
		if err := copyTree(shared.repo, src); err != nil {
			b.Fatal(err)
		}
		copyBundle(b, filepath.Join(shared.repo, "example", "abinary"), filepath.Join(src, "example", "abinary"))
		if err := os.WriteFile(filepath.Join(src, "example", "abinary", "selfcompile_bundle_plugins.go"),
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

		b.ReportMetric(coldRebuild.Seconds(), "cold-rebuild-s")
		b.ReportMetric(coldBuild.Seconds(), "cold-gobuild-s")
		b.ReportMetric(coldRebuild.Seconds()/coldBuild.Seconds(), "cold-ratio")
		b.ReportMetric(warmRebuild.Seconds(), "warm-rebuild-s")
		b.ReportMetric(warmBuild.Seconds(), "warm-gobuild-s")
		b.ReportMetric(warmRebuild.Seconds()/warmBuild.Seconds(), "warm-ratio")

		// Size: the rebuilt binary against the same program without a bundle.
		for _, f := range []string{"selfcompile_bundle.go", "selfcompile_bundle_plugins.go"} {
			os.Remove(filepath.Join(src, "example", "abinary", f))
		}
		run(b, true, src, coldGoEnv, "go", "build", "-o", filepath.Join(dir, "nobundle"), "./example/abinary")
		withBundle, noBundle := fileSize(b, out), fileSize(b, filepath.Join(dir, "nobundle"))
		b.ReportMetric(float64(withBundle)/(1<<20), "binary-MiB")
		b.ReportMetric(float64(noBundle)/(1<<20), "plain-binary-MiB")
		b.ReportMetric(float64(withBundle)/float64(noBundle), "size-ratio")
		reportParts(b, filepath.Join(shared.repo, "example", "abinary"))
		makeWritable(dir)
	}
}

func timeIt(b *testing.B, f func()) time.Duration {
	b.Helper()
	start := time.Now()
	f()
	return time.Since(start)
}

func fileSize(b *testing.B, name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

func copyBundle(b *testing.B, from, to string) {
	matches, _ := filepath.Glob(filepath.Join(from, "selfcompile_bundle*"))
	for _, m := range matches {
		if err := copyFile(m, filepath.Join(to, filepath.Base(m))); err != nil {
			b.Fatal(err)
		}
	}
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
