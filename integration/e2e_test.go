//go:build e2e

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/goproxytest"
	"golang.org/x/mod/modfile"
	"golang.org/x/tools/txtar"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// shared holds what every case of one test run reuses: the build cache of
// the bundled toolchain (a cold one costs about a minute of standard
// library compilation on two cores) and the example binary.
var shared struct {
	once     sync.Once
	err      error
	cache    string // XDG_CACHE_HOME for generator and rebuilds
	repo     string // a copy of this module, where the example is generated
	abinary  string // the example binary, built with its bundle
	proxyURL string
	proxy    *goproxytest.Server
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "go-selfcompile-e2e-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.cache = filepath.Join(dir, "cache")
	// No test reaches the public vulnerability database: those of the
	// check name their own (vulns_test.go).
	os.Setenv("GOVULNDB", "off")
	shared.repo = filepath.Join(dir, "repo")
	srv, err := goproxytest.NewServer("../testdata/mod", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.proxy, shared.proxyURL = srv, srv.URL
	code := m.Run()
	srv.Close()
	makeWritable(dir)
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is the environment of every command the tests run: the local proxy
// only, and the shared cache.
func env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOPROXY", "GONOSUMDB", "GOFLAGS", "XDG_CACHE_HOME", "GO_SELFCOMPILE_SMOKE":
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "GOPROXY="+shared.proxyURL, "GONOSUMDB=example.com", "XDG_CACHE_HOME="+shared.cache)
	return append(out, extra...)
}

// run runs a command and returns its combined output; it fails the test
// unless the exit status is as wanted.
func run(t testing.TB, wantOK bool, dir string, environ []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = environ
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("$ %s %s\n%s", filepath.Base(name), strings.Join(args, " "), out.String())
	if wantOK && err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	if !wantOK && err == nil {
		t.Fatalf("%s %s succeeded, want failure", name, strings.Join(args, " "))
	}
	return out.String()
}

// exampleBinary builds example/abinary once per run, with the real
// generator, from a copy of this module.
func exampleBinary(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		shared.err = buildExample(t)
	})
	if shared.err != nil {
		t.Fatalf("building the example: %v", shared.err)
	}
	return shared.abinary
}

func buildExample(t testing.TB) error {
	if err := copyTree("..", shared.repo); err != nil {
		return err
	}
	hostEnv := hostGoEnv()
	run(t, true, filepath.Join(shared.repo, "example", "abinary"), hostEnv, "go", "generate")
	shared.abinary = filepath.Join(filepath.Dir(shared.repo), "bin", "abinary")
	run(t, true, shared.repo, hostEnv, "go", "build", "-o", shared.abinary, "./example/abinary")
	return nil
}

// hostGoEnv is the environment of the developer's own go commands: the
// module cache the test run already has, and the shared generator cache.
func hostGoEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "XDG_CACHE_HOME" || k == "GOFLAGS" {
			continue
		}
		out = append(out, kv)
	}
	// The go build cache stays where the developer's is: only the
	// generator's toolchain archive cache and the rebuilds share ours.
	gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
	return append(out, "XDG_CACHE_HOME="+shared.cache, "GOCACHE="+strings.TrimSpace(string(gocache)))
}

// install copies the example binary into a fresh directory.
func install(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := copyFile(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestSeparateHostModule builds a host that lives in its own module and
// reaches go-selfcompile through a local replace, and installs a plugin
// from the module proxy into it. The plugin needs a newer version of a
// dependency the host has: the drift is reported, and refused on request.
func TestSeparateHostModule(t *testing.T) {
	bin := buildHost(t, "")
	mustContain(t, run(t, true, "", env(), bin), "host running with shared v1.0.0 and []")
	before := testkit.Snapshot(t, filepath.Dir(bin))
	out := run(t, false, filepath.Dir(bin), env(), bin, "install-strict", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "modgen:", "example.com/shared v1.0.0 -> v1.1.0", "beyond the patch level")
	if after := testkit.Snapshot(t, filepath.Dir(bin)); !maps.Equal(before, after) {
		t.Errorf("a refused drift changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	// Two rebuilds in a row from one process: the second starts from the
	// binary the first installed.
	out = run(t, true, filepath.Dir(bin), env(), bin, "install", "example.com/hostplugin@v1.0.0", "example.com/hostplugin2@v1.0.0")
	mustContain(t, out, "selfcompile: drift: example.com/shared v1.0.0 -> v1.1.0 (pulled by example.com/hostplugin)")
	mustNotContain(t, out, "changed during Run")
	mustContain(t, run(t, true, "", env(), bin), "host running with shared v1.1.0 and [hostplugin v1.0.0 with shared v1.1.0 hostplugin2]")
}

// TestBareSpecKeepsTheHostsVersion: a plugin whose module the host
// already builds with, named without a version, is installed at the
// host's version, with no drift (the bundle carries that module trimmed
// to the package the host uses: it is completed from the proxy, at the
// host's version); @latest moves the module, and the move is reported.
func TestBareSpecKeepsTheHostsVersion(t *testing.T) {
	bin := buildHost(t, "")
	forgetModuleCaches(t)
	out := run(t, true, filepath.Dir(bin), env(), bin, "install", "example.com/hostdep/plugin")
	mustContain(t, out, "completed module example.com/hostdep@v1.0.0")
	mustNotContain(t, out, "drift")
	mustContain(t, run(t, true, "", env(), bin), "[hostdep plugin v1.0.0]", "hostdep v1.0.0")
	out = run(t, true, filepath.Dir(bin), env(), bin, "install", "example.com/hostdep/plugin@latest")
	mustContain(t, out, "selfcompile: drift: example.com/hostdep v1.0.0 -> v1.1.0")
	mustContain(t, run(t, true, "", env(), bin), "[hostdep plugin v1.1.0]", "hostdep v1.1.0")
}

// TestTrimmedModuleCompleted: the host's bundle carries
// example.com/hostdep trimmed to the package the host uses. A plugin that
// imports another package of it gets the module completed from the
// proxy, at the host's version, with no drift; with the proxy off or
// unreachable, the rebuild is refused in one line that names the module
// and says it needs GOPROXY, and the binary's directory is untouched.
// The rebuilt binary carries what its build uses of the module: from a
// module cache that never held the module whole, it rebuilds offline.
func TestTrimmedModuleCompleted(t *testing.T) {
	bin := buildHost(t, "")
	dir := filepath.Dir(bin)
	forgetModuleCaches(t)
	before := testkit.Snapshot(t, dir)
	for _, proxy := range []string{"off", "http://127.0.0.1:1"} {
		out := run(t, false, dir, env("GOPROXY="+proxy), bin, "install", "example.com/hostdep/plugin")
		var refusal []string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "host: ") {
				refusal = append(refusal, line)
			}
		}
		if len(refusal) != 1 {
			t.Fatalf("GOPROXY=%s: want one refusal line, got %q", proxy, refusal)
		}
		mustContain(t, refusal[0], "example.com/hostdep@v1.0.0", "GOPROXY")
		mustNotContain(t, out, "selfcompile: verify", "completed module")
		if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
			t.Errorf("GOPROXY=%s: a refused rebuild changed the directory:\nbefore %v\nafter  %v", proxy, before, after)
		}
	}
	out := run(t, true, dir, env(), bin, "install", "example.com/depuser@v1.0.0")
	mustContain(t, out, "completed module example.com/hostdep@v1.0.0, which the bundle carried only in part, for example.com/hostdep/plugin")
	mustNotContain(t, out, "drift")
	mustContain(t, run(t, true, "", env(), bin), "hostdep plugin v1.0.0", "depuser", "hostdep v1.0.0")
	// The rebuilt binary's bundle still says which modules it carries in
	// part: those trimmed when the host was bundled (golang.org/x/sys,
	// which the module cache held trimmed already) as well as any trimmed
	// now.
	var rep struct{ Bundle struct{ Trimmed []string } }
	inspect := run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", "-json", bin)
	if err := json.Unmarshal([]byte(inspect[strings.Index(inspect, "{"):]), &rep); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Bundle.Trimmed, func(mv string) bool { return strings.HasPrefix(mv, "golang.org/x/sys@") }) {
		t.Errorf("the rebuilt bundle records as trimmed %v, want golang.org/x/sys among them", rep.Bundle.Trimmed)
	}

	forgetModuleCaches(t)
	out = run(t, true, dir, env("GOPROXY=off"), bin, "install", "example.com/hostdep/plugin")
	mustNotContain(t, out, "completed module", "drift")
	mustContain(t, run(t, true, "", env(), bin), "hostdep plugin v1.0.0", "depuser", "hostdep v1.0.0")
}

// TestCgoModuleKeptWhole installs a plugin whose cgo code includes a
// header from a directory of its module that holds no Go package. The
// rebuilt binary's bundle carries that module whole: on a fresh cache (as
// on another machine: the module cache unpacked from the bundle, nothing
// compiled, for a build cache entry of the package would hide a missing
// header), with the proxy off, it rebuilds again.
func TestCgoModuleKeptWhole(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler (gcc) on PATH: the example builds without cgo: ", err)
	}
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	run(t, true, dir, env(), bin, "--plugin", "example.com/cgoplugin/plug@v1.0.0")
	out := run(t, true, dir, env("GOPROXY=off", "XDG_CACHE_HOME="+t.TempDir()), bin, "--plugin", "github.com/selfcompile/go-selfcompile/example/aplugin")
	mustNotContain(t, out, "completed module")
	mustContain(t, run(t, true, "", env(), bin), "cgoplugin activated: 42.", "aplugin activated.")
}

// TestBundleTags bundles a host that is built with a build tag under which
// its main package imports another package of a dependency module
// (example.com/hostdep/plugin). With bundle -tags, the bundle keeps that
// package: the binary rebuilds with the proxy off. Without, the module
// would have to be completed from the proxy.
func TestBundleTags(t *testing.T) {
	files := map[string][]byte{
		"tagged.go": []byte("//go:build extra\n\npackage main\n\nimport _ \"example.com/hostdep/plugin\"\n"),
		"plug/plug.go": []byte("// Package plug is a plugin in the host's own module.\npackage plug\n\n" +
			"import \"example.com/host/registry\"\n\nfunc init() { registry.Register(\"plug\") }\n"),
	}
	for _, c := range []struct {
		bundleFlags []string
		ok          bool
	}{
		{[]string{"-level", "fastest"}, false},
		{[]string{"-level", "fastest", "-tags", "extra"}, true},
	} {
		bin := buildHostWith(t, hostBuild{files: files, flags: []string{"-tags=extra"}, bundleFlags: c.bundleFlags})
		forgetModuleCaches(t)
		out := run(t, c.ok, filepath.Dir(bin), env("GOPROXY=off"), bin, "install", "example.com/host/plug")
		if !c.ok {
			mustContain(t, out, "example.com/hostdep@v1.0.0", "GOPROXY")
			continue
		}
		mustContain(t, run(t, true, "", env(), bin), "[plug hostdep plugin v1.0.0]")
	}
}

// forgetModuleCaches removes the module caches rebuilds keep between
// runs (work/*.mod in the shared cache), so that the next rebuild
// unpacks its bundle's modules part: what it holds, trimmed or not, is
// what the bundle carries.
func forgetModuleCaches(t *testing.T) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(shared.cache, "go-selfcompile", "work", "*.mod"))
	for _, d := range dirs {
		makeWritable(d)
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInstallPolicy: a host's install policy refuses, in prepare and
// with the binary untouched, a plugin it does not name, and lets through
// one it does.
func TestInstallPolicy(t *testing.T) {
	bin := buildHost(t, "")
	before := testkit.Snapshot(t, filepath.Dir(bin))
	out := run(t, false, filepath.Dir(bin), env(), bin, "install-only", "example.com/hostplugin2", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "host: prepare: plugin \"example.com/hostplugin@v1.0.0\": example.com/hostplugin is not allowed: this program installs only plugins matching \"example.com/hostplugin2\"")
	mustNotContain(t, out, "selfcompile: toolchain")
	if after := testkit.Snapshot(t, filepath.Dir(bin)); !maps.Equal(before, after) {
		t.Errorf("a refused plugin changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	run(t, true, filepath.Dir(bin), env(), bin, "install-only", "example.com/hostplugin2,example.com/other", "example.com/hostplugin2@v1.0.0")
	mustContain(t, run(t, true, "", env(), bin), "[hostplugin2]")

	// A host that requires the checksum database refuses what the test
	// proxy serves under GONOSUMDB, before building anything.
	before = testkit.Snapshot(t, filepath.Dir(bin))
	out = run(t, false, filepath.Dir(bin), env(), bin, "install-checked", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "host: modgen:", "example.com/hostplugin@v1.0.0 was not checked against the checksum database (GONOSUMDB=example.com)", "this program requires every new module to be checked")
	mustNotContain(t, out, "selfcompile: build")
	if after := testkit.Snapshot(t, filepath.Dir(bin)); !maps.Equal(before, after) {
		t.Errorf("a refused plugin changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// TestChecksumMismatchStopsTheRun gives the host a go.sum line for the
// plugin that the proxy's copy does not match, as a tampered module would.
func TestChecksumMismatchStopsTheRun(t *testing.T) {
	bin := buildHost(t, "example.com/hostplugin v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	before := testkit.Snapshot(t, filepath.Dir(bin))
	out := run(t, false, filepath.Dir(bin), env(), bin, "install", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "modgen:", "example.com/hostplugin@v1.0.0", "checksum mismatch")
	mustNotContain(t, out, "selfcompile: build")
	if after := testkit.Snapshot(t, filepath.Dir(bin)); !maps.Equal(before, after) {
		t.Errorf("directory changed:\nbefore %v\nafter  %v", before, after)
	}
}

// TestPrewarmedBundle: a host bundled with -prewarm carries its compiled
// standard packages; a first rebuild on an empty cache adds them to the
// build cache, and the rebuilt binary carries them on.
func TestPrewarmedBundle(t *testing.T) {
	bin := buildHostWith(t, hostBuild{bundleFlags: []string{"-prewarm"}})
	cache := t.TempDir()
	run(t, true, filepath.Dir(bin), env("XDG_CACHE_HOME="+cache), bin, "install", "example.com/hostplugin@v1.0.0")
	marks, _ := filepath.Glob(filepath.Join(cache, "go-selfcompile", "gocache", ".selfcompile-prewarmed-*"))
	if len(marks) != 1 {
		t.Errorf("prewarm markers %v, want one", marks)
	}
	mustContain(t, run(t, true, "", env(), bin), "[hostplugin v1.0.0 with shared v1.1.0]")
	mustContain(t, run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", bin), "selfcompile_bundle_stdcache.tar.zst")
}

// buildHost generates and builds testdata/host.txtar, with extraSum added
// to its go.sum, and returns the binary in a directory of its own.
func buildHost(t *testing.T, extraSum string) string {
	t.Helper()
	return buildHostWith(t, hostBuild{extraSum: extraSum})
}

// hostBuild is how buildHostWith builds the host.
type hostBuild struct {
	extraSum string            // added to go.sum
	flags    []string          // go build flags, e.g. -race
	env      []string          // extra environment of go generate and go build
	files    map[string][]byte // extra files of the host module
	// bundleFlags, when set, are go-selfcompile bundle's flags, run
	// instead of go generate.
	bundleFlags []string
	// dir is where to write the host; empty means a temporary directory
	// of the test.
	dir string
}

func buildHostWith(t *testing.T, hb hostBuild) string {
	t.Helper()
	dir, hostEnv := bundleHost(t, hb)
	bin := filepath.Join(t.TempDir(), "host")
	run(t, true, dir, hostEnv, "go", append(append([]string{"build", "-o", bin}, hb.flags...), ".")...)
	return bin
}

// bundleHost writes testdata/host.txtar as hb says and generates its
// bundle; it returns the host's directory and the environment of the go
// commands that build it.
func bundleHost(t testing.TB, hb hostBuild) (string, []string) {
	t.Helper()
	extraSum := hb.extraSum
	exampleBinary(t) // the module copy the host replaces to
	dir := hb.dir
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "host")
	}
	ar, err := txtar.ParseFile("testdata/host.txtar")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		data := bytes.ReplaceAll(f.Data, []byte("REPO"), []byte(shared.repo))
		if err := writeFile(filepath.Join(dir, f.Name), data); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range hb.files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), data); err != nil {
			t.Fatal(err)
		}
	}
	inheritRequirements(t, shared.repo, dir)
	if extraSum != "" {
		f, err := os.OpenFile(filepath.Join(dir, "go.sum"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(extraSum)
		f.Close()
	}
	// Modules of go-selfcompile come from the module cache; example.com
	// ones from the test proxy.
	hostEnv := append(hostGoEnv(), "GOFLAGS=-mod=mod", "GOPROXY="+shared.proxyURL+",off", "GONOSUMDB=example.com")
	hostEnv = append(hostEnv, hb.env...)
	if len(hb.bundleFlags) == 0 {
		run(t, true, dir, hostEnv, "go", "generate")
	} else {
		run(t, true, dir, hostEnv, "go", append([]string{"run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "bundle"}, hb.bundleFlags...)...)
	}
	return dir, hostEnv
}

// inheritRequirements gives the host module at dir the requirements and
// sums of the go-selfcompile module at repo, as go get would, without
// the network.
func inheritRequirements(t testing.TB, repo, dir string) {
	t.Helper()
	read := func(name string) *modfile.File {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := modfile.Parse(name, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	lib, host := read(filepath.Join(repo, "go.mod")), read(filepath.Join(dir, "go.mod"))
	for _, r := range lib.Require {
		host.AddNewRequire(r.Mod.Path, r.Mod.Version, true)
	}
	data, err := host.Format()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(filepath.Join(repo, "go.sum"), filepath.Join(dir, "go.sum")); err != nil {
		t.Fatal(err)
	}
}

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func mustNotContain(t *testing.T, out string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(out, b) {
			t.Errorf("output has %q:\n%s", b, out)
		}
	}
}

// mustHaveOnly checks that dir holds exactly the named entries.
func mustHaveOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(names)
	if !slices.Equal(got, names) {
		t.Errorf("directory %s holds %v, want %v", dir, got, names)
	}
}

// copyTree copies the module at src to dst, leaving out VCS data, bundle
// files and build outputs.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := d.Name()
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(name, ".") || rel == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, "selfcompile_bundle") || !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}
