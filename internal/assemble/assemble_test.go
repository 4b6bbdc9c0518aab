package assemble

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// modCache lays out files (slash-separated, relative to the module cache)
// and returns the module cache and its entries.
func modCache(t *testing.T, files ...string) (string, []bundle.Entry) {
	t.Helper()
	dir := t.TempDir()
	var entries []bundle.Entry
	for _, f := range files {
		name := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, bundle.Entry{Name: f, Src: name})
	}
	return dir, entries
}

func names(entries []bundle.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name)
	}
	return out
}

func TestAssembleTrimsAndListsStandardPackages(t *testing.T) {
	dir, entries := modCache(t,
		"cache/download/example.com/m/@v/v1.0.0.mod",
		"example.com/m@v1.0.0/go.mod",
		"example.com/m@v1.0.0/used/a.go",
		"example.com/m@v1.0.0/unused/b.go",
		"example.com/held@v1.0.0/go.mod",
	)
	listed := []gocmd.Package{
		{ImportPath: "example.com/m/used", Dir: filepath.Join(dir, "example.com", "m@v1.0.0", "used"), Module: &gocmd.PackageModule{Path: "example.com/m", Version: "v1.0.0"}},
		{ImportPath: "fmt"},
		{ImportPath: "errors"},
		{ImportPath: "fmt"},
		// An import path no module provides, listed with -e: not standard.
		{ImportPath: "example.com/missing", Error: &gocmd.PackageError{Err: "no required module provides package"}},
	}
	mods, err := Assemble(Input{ModCache: dir, Entries: entries, Platforms: []string{"linux/amd64"}, Listed: listed, Held: []string{"example.com/held@v1.0.0", "example.com/gone@v1.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(mods.Entries); slices.Contains(got, "example.com/m@v1.0.0/unused/b.go") || !slices.Contains(got, "example.com/m@v1.0.0/used/a.go") {
		t.Errorf("entries %q: want used/a.go kept and unused/b.go left out", got)
	}
	if want := []string{"example.com/held@v1.0.0", "example.com/m@v1.0.0"}; !slices.Equal(mods.Trimmed, want) {
		t.Errorf("trimmed %q, want %q", mods.Trimmed, want)
	}
	if want := []string{"errors", "fmt"}; !slices.Equal(mods.Std, want) {
		t.Errorf("std %q, want %q", mods.Std, want)
	}
	var m bundle.Manifest
	mods.Record(&m)
	if !slices.Equal(m.Trimmed, mods.Trimmed) || !slices.Equal(m.StdPackages, mods.Std) || !slices.Equal(m.TrimPlatforms, []string{"linux/amd64"}) {
		t.Errorf("recorded %+v", m)
	}
}

func TestAssembleWholeKeepsEveryEntry(t *testing.T) {
	dir, entries := modCache(t, "example.com/m@v1.0.0/go.mod", "example.com/m@v1.0.0/unused/b.go")
	mods, err := Assemble(Input{ModCache: dir, Entries: entries, Whole: true, Held: []string{"example.com/m@v1.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(mods.Entries) != 2 || mods.Trim != nil {
		t.Errorf("entries %q, trim %v: want every entry, not trimmed", names(mods.Entries), mods.Trim)
	}
	if want := []string{"example.com/m@v1.0.0"}; !slices.Equal(mods.Trimmed, want) {
		t.Errorf("trimmed %q, want the held module %q", mods.Trimmed, want)
	}
}
