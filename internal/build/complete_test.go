package build

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/goproxytest"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/modtrim"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestCompleteTrimmedModule runs the real go command against the test
// module proxy on a module cache unpacked from a modules part in which
// example.com/hostdep@v1.0.0 is trimmed to the one package the host uses.
// A plugin package that imports example.com/hostdep/plugin gets the
// module completed first (the go command would otherwise upgrade hostdep
// to v1.1.0, which has the package, behind the host's back), and the
// go command's module index, which an earlier go command built of the
// trimmed directory in the same GOCACHE, is not read stale afterwards.
// A file of the completed module altered afterwards is still found.
func TestCompleteTrimmedModule(t *testing.T) {
	testkit.NeedGo(t)
	srv, err := goproxytest.NewServer("../../testdata/mod", "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	root := t.TempDir()
	gocache := filepath.Join(root, "gocache")
	base := []string{"GOPROXY=" + srv.URL, "GONOSUMDB=example.com", "GOCACHE=" + gocache, "CGO_ENABLED=0"}

	// The host as the generator sees it, its modules in a cache of their own.
	src := filepath.Join(root, "src")
	testkit.WriteFiles(t, src, map[string]string{
		"module/go.mod":           "module example.com/host\n\ngo 1.26\n\nrequire example.com/hostdep v1.0.0\n",
		"module/cmd/host/main.go": "package main\n\nimport \"example.com/hostdep\"\n\nfunc main() { println(hostdep.Version) }\n",
		"module/registry/r.go":    "package registry\n\nfunc Register(string) {}\n",
	})
	genCache := filepath.Join(root, "gen")
	gen := &gocmd.Runner{Env: append([]string{"GOMODCACHE=" + genCache, "GOFLAGS=-mod=mod -modcacherw"}, base...)}
	hostDir := filepath.Join(src, "module")
	out, err := gen.Run(ctx, gocmd.Invocation{Verb: "list", Args: []string{"-deps", "-json=ImportPath,Dir", "./cmd/host"}, WorkingDir: hostDir})
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []modtrim.Package
	for dec := json.NewDecoder(strings.NewReader(string(out))); dec.More(); {
		var p modtrim.Package
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	entries, err := bundle.ModuleEntries(genCache)
	if err != nil {
		t.Fatal(err)
	}
	trim, err := modtrim.Trim(genCache, entries, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(trim.Trimmed, " ") != "example.com/hostdep@v1.0.0" {
		t.Fatalf("trimmed %v, want example.com/hostdep@v1.0.0", trim.Trimmed)
	}
	fsys, m := testBundleWith(t, src, trim.Entries, trim.Trimmed)

	work := filepath.Join(root, "work")
	modCache := filepath.Join(root, "work.mod")
	tree, _, err := Unpack(fsys, m, work, modCache, nil)
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(modCache, "example.com", "hostdep@v1.0.0", "plugin")
	if _, err := os.Stat(plugin); !os.IsNotExist(err) {
		t.Fatalf("%s is in the trimmed module cache (%v)", plugin, err)
	}
	goRun := &gocmd.Runner{
		Env:     append([]string{"GOMODCACHE=" + modCache, "GOFLAGS=-mod=mod -modcacherw"}, base...),
		EnvFunc: func() []string { return GoEnv(modCache) },
	}
	// An earlier go command indexes the trimmed module in GOCACHE.
	if _, err := goRun.Run(ctx, gocmd.Invocation{Verb: "list", Args: []string{"-deps", "./..."}, WorkingDir: tree.Module}); err != nil {
		t.Fatal(err)
	}
	if env := GoEnv(modCache); len(env) != 0 {
		t.Fatalf("GoEnv of a module cache nothing changed in: %v", env)
	}

	// A plugin of the host module that needs the package hostdep's trimmed
	// directory lacks.
	testkit.WriteFiles(t, tree.Module, map[string]string{"plug/plug.go": "package plug\n\nimport _ \"example.com/hostdep/plugin\"\n"})
	gosum, _ := os.ReadFile(filepath.Join(tree.Module, "go.sum"))
	var warned []string
	c := &Completer{Go: &gocmd.Runner{Env: base}, ModCache: modCache, GoSum: gosum, Warn: func(f string, a ...any) { warned = append(warned, f) }}
	if !c.IsTrimmed("example.com/hostdep", "v1.0.0") {
		t.Fatal("IsTrimmed(example.com/hostdep v1.0.0) = false")
	}
	// A download that does not match the recorded hash is refused, and
	// the module stays as it was.
	bad := "example.com/hostdep v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	ziphash := filepath.Join(modCache, "cache", "download", "example.com", "hostdep", "@v", "v1.0.0.ziphash")
	goodZiphash := readFile(t, ziphash)
	for _, tc := range []struct{ gosum, ziphash, want string }{
		{bad, goodZiphash, "disagree"},
		{"", "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", "SECURITY ERROR"},
	} {
		os.Chmod(ziphash, 0o644)
		if err := os.WriteFile(ziphash, []byte(tc.ziphash), 0o644); err != nil {
			t.Fatal(err)
		}
		c2 := &Completer{Go: c.Go, ModCache: modCache, GoSum: []byte(tc.gosum)}
		err := c2.Complete(ctx, "example.com/hostdep", "v1.0.0", "example.com/hostdep/plugin")
		var ie *modgen.IncompleteModuleError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Complete with go.sum %q, .ziphash %q: %v, want an IncompleteModuleError saying %q", tc.gosum, tc.ziphash, err, tc.want)
		}
		if _, err := os.Stat(plugin); !os.IsNotExist(err) || !c.IsTrimmed("example.com/hostdep", "v1.0.0") {
			t.Errorf("a refused completion changed the module (%v)", err)
		}
	}
	if err := os.WriteFile(ziphash, []byte(goodZiphash), 0o644); err != nil {
		t.Fatal(err)
	}
	if env := GoEnv(modCache); len(env) != 0 {
		t.Errorf("GoEnv after refused completions = %v: no module changed", env)
	}
	listed, err := modgen.Load(ctx, modgen.LoadRequest{Go: goRun, Dir: tree.Module, Trimmed: c, Args: []string{"./plug"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range listed {
		if p.ImportPath == "example.com/hostdep/plugin" {
			found = p.Error == nil && p.Module != nil && p.Module.Version == "v1.0.0"
		}
	}
	if !found {
		t.Errorf("example.com/hostdep/plugin not loaded from hostdep v1.0.0: %+v", listed)
	}
	if len(warned) != 1 || c.IsTrimmed("example.com/hostdep", "v1.0.0") {
		t.Errorf("completion warned %q, module still trimmed: %v", warned, c.IsTrimmed("example.com/hostdep", "v1.0.0"))
	}
	if gomod := readFile(t, filepath.Join(tree.Module, "go.mod")); !strings.Contains(gomod, "example.com/hostdep v1.0.0") || strings.Contains(gomod, "v1.1.0") {
		t.Errorf("loading moved the host's dependency:\n%s", gomod)
	}
	if env := GoEnv(modCache); len(env) != 1 || env[0] != "GODEBUG=goindex=0" {
		t.Errorf("GoEnv after a completion = %v, want GODEBUG=goindex=0", env)
	}
	// The trap itself: with the index on, the go command still reads the
	// trimmed directory's index and misses the package. (Should the go
	// command ever key its index by content, this part fails and GoEnv
	// can go.)
	stale := &gocmd.Runner{Env: append([]string{"GOMODCACHE=" + modCache, "GOFLAGS=-mod=readonly"}, base...)}
	if _, err := stale.Run(ctx, gocmd.Invocation{Verb: "list", Args: []string{"-deps", "./plug"}, WorkingDir: tree.Module}); err == nil {
		t.Error("with the module index on, the completed module was read correctly: the trap this test guards is gone")
	} else {
		t.Logf("with the module index on, as expected: %v", err)
	}
	if _, err := goRun.Run(ctx, gocmd.Invocation{Verb: "list", Args: []string{"-mod=readonly", "./plug"}, WorkingDir: tree.Module}); err != nil {
		t.Errorf("the completed module, read with GoEnv: %v", err)
	}

	// The cache still checks as holding the bundle's modules, and a file
	// of the completed module altered afterwards is found.
	if !modCacheHolds(modCache, m.Parts[bundle.ModulesFile].SHA256) {
		t.Fatal("the module cache does not check after the completion")
	}
	victim := filepath.Join(plugin, "plugin.go")
	os.Chmod(victim, 0o644)
	if err := os.WriteFile(victim, []byte(readFile(t, victim)+"\nfunc init() { panic(1) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if modCacheHolds(modCache, m.Parts[bundle.ModulesFile].SHA256) {
		t.Fatal("an altered file of the completed module was not found")
	}
	if _, reused, err := Unpack(fsys, m, filepath.Join(root, "work2"), modCache, nil); err != nil || reused {
		t.Fatalf("Unpack over an altered module cache: reused %v, %v", reused, err)
	}
	if _, err := os.Stat(victim); !os.IsNotExist(err) || !c.IsTrimmed("example.com/hostdep", "v1.0.0") {
		t.Errorf("unpacked anew, the module is not the trimmed one again (%v)", err)
	}
	if len(GoEnv(modCache)) != 1 {
		t.Error("unpacked anew, the module cache lost its record that the index is stale")
	}
}

// TestIndexOffWhenATrimmedModuleChanges: unpacking, at the same path, a
// modules part that trims a module differently (or removing the module
// cache first, as pruning does) turns the go command's module index off
// for that module cache; one that holds the same files does not.
func TestIndexOffWhenATrimmedModuleChanges(t *testing.T) {
	root := t.TempDir()
	files := filepath.Join(root, "files")
	testkit.WriteFiles(t, files, map[string]string{
		"example.com/m@v1.0.0/go.mod": "module example.com/m\n",
		"example.com/m@v1.0.0/a/a.go": "package a\n",
		"example.com/m@v1.0.0/b/b.go": "package b\n",
		"example.com/n@v1.0.0/go.mod": "module example.com/n\n",
		"example.com/n@v1.0.0/n.go":   "package n\n",
	})
	entries := func(names ...string) []bundle.Entry {
		var es []bundle.Entry
		for _, n := range names {
			es = append(es, bundle.Entry{Name: n, Src: filepath.Join(files, filepath.FromSlash(n))})
		}
		return es
	}
	src := filepath.Join(root, "src")
	testkit.WriteFiles(t, src, map[string]string{"module/go.mod": "module example.com/host\n", "module/cmd/host/main.go": "package main\n\nfunc main() {}\n"})
	trimmed := []string{"example.com/m@v1.0.0"}
	partA, mA := testBundleWith(t, src, entries("example.com/m@v1.0.0/go.mod", "example.com/m@v1.0.0/a/a.go"), trimmed)
	partA2, mA2 := testBundleWith(t, src, entries("example.com/m@v1.0.0/go.mod", "example.com/m@v1.0.0/a/a.go", "example.com/n@v1.0.0/go.mod", "example.com/n@v1.0.0/n.go"), trimmed)
	partB, mB := testBundleWith(t, src, entries("example.com/m@v1.0.0/go.mod", "example.com/m@v1.0.0/a/a.go", "example.com/m@v1.0.0/b/b.go"), trimmed)

	modCache := filepath.Join(root, "work.mod")
	unpack := func(fsys fs.FS, m *bundle.Manifest) {
		t.Helper()
		if _, reused, err := Unpack(fsys, m, filepath.Join(root, "work"), modCache, nil); err != nil || reused {
			t.Fatalf("Unpack: reused %v, %v", reused, err)
		}
		os.RemoveAll(filepath.Join(root, "work"))
	}
	unpack(partA, mA)
	if len(GoEnv(modCache)) != 0 {
		t.Fatal("the index is off for a module cache unpacked once")
	}
	unpack(partA2, mA2) // another part, example.com/m trimmed the same
	if len(GoEnv(modCache)) != 0 {
		t.Fatal("the index went off for a part that holds the same files of the trimmed module")
	}
	if err := os.RemoveAll(modCache); err != nil { // pruned as stale
		t.Fatal(err)
	}
	unpack(partB, mB) // example.com/m trimmed to more packages
	if env := GoEnv(modCache); len(env) != 1 {
		t.Fatalf("GoEnv after unpacking another trimmed example.com/m at the same path = %v, want the index off", env)
	}
}
