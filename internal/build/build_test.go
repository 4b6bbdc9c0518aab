package build

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestUnpackAndRun takes a bundle through the source and build stages
// with the go command on PATH: the host's source is unpacked, a plugin of
// the host module is linked in, the new bundle carries the unchanged
// parts byte for byte and the new plugin set, and the binary runs.
func TestUnpackAndRun(t *testing.T) {
	testkit.NeedGo(t)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	testkit.WriteFiles(t, src, map[string]string{
		"module/go.mod":           "module example.com/host\n\ngo 1.26.0\n\nrequire github.com/selfcompile/go-selfcompile v0.0.0\n\nreplace github.com/selfcompile/go-selfcompile => " + repo + "\n",
		"module/go.sum":           readFile(t, filepath.Join(repo, "go.sum")),
		"module/cmd/host/main.go": "package main\n\nfunc main() { println(\"host main\") }\n",
		"module/plug/plug.go":     "package plug\n\nfunc init() { println(\"plug init\") }\n",
	})
	fsys, m := testBundle(t, src)

	work := t.TempDir()
	tree, reused, err := Unpack(fsys, m, work, filepath.Join(work, "mod"), nil)
	if err != nil || reused {
		t.Fatalf("Unpack: reused %v, %v", reused, err)
	}
	if tree.MainDir != filepath.Join(work, "src", "module", "cmd", "host") || !strings.Contains(string(tree.GoMod), "module example.com/host") {
		t.Fatalf("tree %+v", tree)
	}
	goRun := &gocmd.Runner{Env: []string{
		"GOMODCACHE=" + tree.ModCache, "GOFLAGS=-mod=mod",
		"GOPROXY=file://" + filepath.ToSlash(filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download")),
		"GONOSUMDB=*", "CGO_ENABLED=0",
	}}
	plugins := []bundle.Plugin{{Path: "example.com/host/plug", Module: "example.com/host"}}
	prep, err := Prepare(context.Background(), Input{
		Go: goRun, Tree: tree, Bundle: fsys, Manifest: m, Plugins: plugins,
		Flags: []string{"-buildvcs=false"}, Output: filepath.Join(work, "host"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(work, "host")); !os.IsNotExist(err) {
		t.Errorf("Prepare made the binary (%v): only Build builds", err)
	}
	var progress [][2]int
	depsDone := 0
	out, err := prep.Build(context.Background(), func(done, total int) { progress = append(progress, [2]int{done, total}) }, func() {
		depsDone++
		// The main package is being compiled: the binary is not linked yet.
		if _, err := os.Stat(filepath.Join(work, "host")); !os.IsNotExist(err) {
			t.Errorf("depsDone called once the binary was written (%v): want it when the main package's compile starts", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if depsDone != 1 {
		t.Errorf("depsDone called %d times, want once", depsDone)
	}
	if n := len(progress); n == 0 || progress[n-1][0] != progress[n-1][1] || progress[n-1][0] < 1 {
		t.Errorf("progress %v, want it to end with N of N, N >= 1 (the main package at least)", progress)
	}
	for _, name := range []string{bundle.ToolchainFile, bundle.HelperFile} {
		if out.Manifest.Parts[name] != m.Parts[name] {
			t.Errorf("%s changed: %v, was %v", name, out.Manifest.Parts[name], m.Parts[name])
		}
	}
	if len(out.Manifest.Plugins) != 1 || out.Manifest.Plugins[0].Path != "example.com/host/plug" {
		t.Errorf("new manifest plugins %+v", out.Manifest.Plugins)
	}
	got, err := exec.Command(out.Binary).CombinedOutput()
	if err != nil || !strings.Contains(string(got), "plug init") || !strings.Contains(string(got), "host main") {
		t.Errorf("the new binary printed %q (%v), want the plugin's init and main", got, err)
	}

	// The next rebuild, from the new bundle, finds the module cache ready.
	if err := Seal(tree, out.Manifest); err != nil {
		t.Fatal(err)
	}
	next := os.DirFS(out.BundleDir)
	work2 := t.TempDir()
	if _, reused, err := Unpack(next, out.Manifest, work2, tree.ModCache, nil); err != nil || !reused {
		t.Errorf("Unpack from the new bundle: reused %v, %v; want the module cache as it is", reused, err)
	}
	// The running binary's bundle, too, finds it ready (the rebuild wrote
	// to another file).
	if _, reused, err := Unpack(fsys, m, t.TempDir(), tree.ModCache, nil); err != nil || !reused {
		t.Errorf("Unpack from the first bundle again: reused %v, %v", reused, err)
	}
	// A module tree changed since is found, and the cache unpacked anew.
	var victim string
	filepath.WalkDir(tree.ModCache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && victim == "" && strings.HasSuffix(p, ".go") && !strings.Contains(p, "cache") {
			victim = p
		}
		return nil
	})
	if victim == "" {
		t.Fatal("no module source in the cache")
	}
	orig := readFile(t, victim)
	os.Chmod(victim, 0o644)
	if err := os.WriteFile(victim, []byte(orig+"\nfunc init() { panic(1) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, reused, err := Unpack(next, out.Manifest, t.TempDir(), tree.ModCache, nil); err != nil || reused {
		t.Errorf("Unpack over an altered module cache: reused %v, %v; want it unpacked anew", reused, err)
	}
	// Unpacked anew from the new bundle, the file is as it was, or gone
	// with a module the new build does not use.
	if got, err := os.ReadFile(victim); err == nil && string(got) != orig {
		t.Errorf("%s still altered after unpacking anew", victim)
	}
}

// testBundle writes a bundle of the source tree src (dummy toolchain and
// helper parts) and returns it as a file system with its manifest.
func testBundle(t *testing.T, src string) (fs.FS, *bundle.Manifest) {
	t.Helper()
	return testBundleWith(t, src, nil, nil)
}

// testBundleWith is testBundle with a modules part of the module cache
// entries mods, of which trimmed are trimmed.
func testBundleWith(t *testing.T, src string, mods []bundle.Entry, trimmed []string) (fs.FS, *bundle.Manifest) {
	t.Helper()
	var entries []bundle.Entry
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		entries = append(entries, bundle.Entry{Name: filepath.ToSlash(rel), Src: p})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dummy := filepath.Join(t.TempDir(), "dummy")
	if err := os.WriteFile(dummy, []byte("not a real tool"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := archive.Write(dir, bundle.Manifest{Module: "example.com/host", MainPackage: "example.com/host/cmd/host", MainDir: "cmd/host", Trimmed: trimmed}, map[string]archive.Source{
		bundle.ToolchainFile: archive.Archive([]bundle.Entry{{Name: "go/VERSION", Src: dummy}}, archive.LevelFast),
		bundle.HelperFile:    archive.Archive([]bundle.Entry{{Name: "go-selfcompile", Src: dummy}}, archive.LevelFast),
		bundle.SourceFile:    archive.Archive(entries, archive.LevelFast),
		bundle.ModulesFile:   archive.Framed(mods, archive.LevelFast, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return os.DirFS(dir), m
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestCopyKeptParts copies the parts a new bundle carries on unchanged
// ahead of the rest: byte for byte, or not at all when one does not match
// the manifest.
func TestCopyKeptParts(t *testing.T) {
	fsys, m := testBundle(t, t.TempDir())
	dir := t.TempDir()
	parts, err := CopyKeptParts(fsys, m, dir).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 {
		t.Errorf("%d parts copied, want the toolchain and the helper", len(parts))
	}
	for _, name := range []string{bundle.ToolchainFile, bundle.HelperFile} {
		src, ok := parts[name]
		if !ok || !src.Done || src.Part != m.Parts[name] {
			t.Errorf("%s: %+v, want it written as %+v", name, src, m.Parts[name])
		}
		want, _ := fs.ReadFile(fsys, name)
		if got := readFile(t, filepath.Join(dir, name)); got != string(want) {
			t.Errorf("%s differs from the bundle's", name)
		}
	}

	bad := *m
	bad.Parts = maps.Clone(m.Parts)
	p := bad.Parts[bundle.HelperFile]
	p.SHA256 = strings.Repeat("0", 64)
	bad.Parts[bundle.HelperFile] = p
	dir = t.TempDir()
	if _, err := CopyKeptParts(fsys, &bad, dir).Wait(); !errors.Is(err, archive.ErrChecksum) {
		t.Errorf("a helper that does not match: %v, want archive.ErrChecksum", err)
	}
	if _, err := os.Stat(filepath.Join(dir, bundle.HelperFile)); !os.IsNotExist(err) {
		t.Errorf("the helper that does not match was written (%v)", err)
	}
}
