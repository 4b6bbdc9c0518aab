//go:build e2e

package integration

import (
	"encoding/json"
	"maps"

	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
)

// toolchainProxy makes a module proxy directory serving this machine's
// toolchain as the golang.org/toolchain module, as the Go project
// publishes it (every file under golang.org/toolchain@VERSION/, go.mod
// files renamed _go.mod), from the local GOROOT: the files a bundle
// carries, stored uncompressed. It returns the directory.
func toolchainProxy(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	goroot, goversion := f[0], f[1]
	entries, err := toolchain.Files(goroot, goroot, runtime.GOOS, runtime.GOARCH, false)
	if err != nil {
		t.Fatal(err)
	}
	version := toolchain.ModuleVersion(goversion, runtime.GOOS, runtime.GOARCH)
	dir := t.TempDir()
	vdir := filepath.Join(dir, toolchain.ModulePath, "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeToolchainZip(t, filepath.Join(vdir, version+".zip"), version, entries)
	info, _ := json.Marshal(map[string]any{"Version": version, "Time": time.Now().UTC().Format(time.RFC3339)})
	for name, data := range map[string]string{"list": version + "\n", version + ".mod": "module " + toolchain.ModulePath + "\n", version + ".info": string(info)} {
		if err := os.WriteFile(filepath.Join(vdir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mergedProxy returns a module proxy directory that serves what the
// developer's module cache holds and the toolchain module of tcDir. The go
// command checks golang.org/toolchain against the checksum database
// whatever GONOSUMDB says, except when GOPROXY is one file:// URL (how Go
// tests its own distributions): the bundle step, which looks the module's
// checksum up, runs with this one.
func mergedProxy(t *testing.T, tcDir, dev string) string {
	t.Helper()
	dir := t.TempDir()
	link := func(from, to string) {
		if err := os.Symlink(from, to); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dev)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "golang.org" {
			link(filepath.Join(dev, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	golang := filepath.Join(dir, "golang.org")
	os.Mkdir(golang, 0o755)
	sub, _ := os.ReadDir(filepath.Join(dev, "golang.org"))
	for _, e := range sub {
		if e.Name() != "toolchain" {
			link(filepath.Join(dev, "golang.org", e.Name()), filepath.Join(golang, e.Name()))
		}
	}
	link(filepath.Join(tcDir, "golang.org", "toolchain"), filepath.Join(golang, "toolchain"))
	return dir
}

// TestSlimBundle: a host bundled with -slim carries only its manifest and
// source. With an empty cache it fetches the toolchain (this machine's, as
// a golang.org/toolchain module on a local proxy) and the modules through
// GOPROXY, builds its helper, rebuilds itself with a plugin, and the new
// binary is slim too. With an empty cache and no proxy it refuses in
// prepare, in one line, and leaves its directory as it was.
func TestSlimBundle(t *testing.T) {
	// The full host first: it is the size to compare with, and its go
	// generate puts the test modules in the developer's module cache.
	full := buildHost(t, "")
	tcDir := toolchainProxy(t)
	tcProxy := "file://" + filepath.ToSlash(tcDir)
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(strings.TrimSpace(string(gomodcache)), "cache", "download")
	// The helper is built from go-selfcompile's dependencies, which the
	// developer's module cache holds (CI downloads them first).
	devProxy := "file://" + filepath.ToSlash(dev)
	nosum := "GONOSUMDB=example.com," + toolchain.ModulePath
	// A module cache of its own: the developer's must not get a toolchain
	// module made here.
	dir, hostEnv := bundleHost(t, hostBuild{bundleFlags: []string{"-slim"}, env: []string{
		"GOMODCACHE=" + t.TempDir(), "GOPROXY=file://" + filepath.ToSlash(mergedProxy(t, tcDir, dev)), nosum,
	}})
	bin := filepath.Join(t.TempDir(), "host")
	run(t, true, dir, hostEnv, "go", "build", "-o", bin, ".")

	// A platform whose toolchain module the proxy does not serve fails
	// the generator before it writes anything.
	other := "linux/arm64"
	if runtime.GOOS+"/"+runtime.GOARCH == other {
		other = "linux/amd64"
	}
	before := testkit.Snapshot(t, dir)
	out := run(t, false, dir, hostEnv, "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "bundle", "-slim", "-platforms", runtime.GOOS+"/"+runtime.GOARCH+","+other)
	mustContain(t, out, "go-selfcompile: -slim: the "+other+" toolchain golang.org/toolchain@", "is not available through GOPROXY", "bundle that platform in full (without -slim)")
	if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("a failed bundle run changed the host's directory:\nbefore %v\nafter  %v", before, after)
	}
	slimSize, fullSize := fileSize(t, bin), fileSize(t, full)
	t.Logf("slim binary %.1f MiB, full %.1f MiB", float64(slimSize)/(1<<20), float64(fullSize)/(1<<20))
	// The toolchain part alone is more than 15 MiB; the slim binary
	// links an HTTPS client instead (about 5 MB for a program that has
	// none, as this one).
	if fullSize-slimSize < 10<<20 {
		t.Errorf("the slim binary is %d bytes, the full one %d: want the toolchain and modules left out", slimSize, fullSize)
	}
	m, err := bundle.ManifestInBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	if m.Slim == nil || len(m.Parts) != 1 || !strings.HasPrefix(m.Slim.ToolchainSum, "h1:") {
		t.Fatalf("slim binary's manifest: slim %+v, parts %v", m.Slim, m.Parts)
	}

	// No network, nothing cached: refused before anything is built.
	offline := install(t, bin)
	before = testkit.Snapshot(t, filepath.Dir(offline))
	out = run(t, false, filepath.Dir(offline), env("XDG_CACHE_HOME="+t.TempDir(), "GOPROXY=off"), offline, "install", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "host: prepare: this binary's bundle is slim (go-selfcompile bundle -slim): a rebuild fetches the", "GOPROXY=off")
	mustNotContain(t, out, "selfcompile: toolchain")
	if after := testkit.Snapshot(t, filepath.Dir(offline)); !maps.Equal(before, after) {
		t.Errorf("a refused slim rebuild changed the directory:\nbefore %v\nafter  %v", before, after)
	}

	// Online, empty cache.
	cache := t.TempDir()
	online := env("XDG_CACHE_HOME="+cache, "GOPROXY="+tcProxy+","+devProxy+","+shared.proxyURL+",off", nosum)
	out = run(t, true, filepath.Dir(bin), online, bin, "install", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "selfcompile: smoke")
	mustContain(t, run(t, true, "", env(), bin), "[hostplugin v1.0.0 with shared v1.1.0]")
	m, err = bundle.ManifestInBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	if m.Slim == nil || len(m.Parts) != 1 || len(m.Plugins) != 1 {
		t.Errorf("the rebuilt binary's manifest: slim %+v, parts %v, plugins %v; want slim, the source part only, one plugin", m.Slim, m.Parts, m.Plugins)
	}
	// The toolchain stays in the cache: a second rebuild fetches nothing.
	out = run(t, true, filepath.Dir(bin), env("XDG_CACHE_HOME="+cache, "GOPROXY="+devProxy+","+shared.proxyURL+",off", nosum), bin, "install", "example.com/hostplugin2@v1.0.0")
	mustContain(t, run(t, true, "", env(), bin), "hostplugin2")
}
