package modtrim

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// TestTrim keeps the used package directories, go.mod, licence files of
// the root and of the directories above a kept one, embedded files, and
// everything that is not a module's file; the rest goes, and the module
// is recorded as trimmed.
func TestTrim(t *testing.T) {
	cache := filepath.FromSlash("/cache")
	names := []string{
		"cache/download/example.com/m/@v/v1.0.0.mod",
		"cache/download/example.com/m/@v/v1.0.0.ziphash",
		"selfcompile-local/example.com/l/l.go",
		"example.com/m@v1.0.0/go.mod",
		"example.com/m@v1.0.0/LICENSE",
		"example.com/m@v1.0.0/m.go",
		"example.com/m@v1.0.0/README.md",
		"example.com/m@v1.0.0/a/NOTICE.txt",
		"example.com/m@v1.0.0/a/b/b.go",
		"example.com/m@v1.0.0/a/b/b_amd64.s",
		"example.com/m@v1.0.0/a/b/static/index.html",
		"example.com/m@v1.0.0/a/b/static/unused.html",
		"example.com/m@v1.0.0/a/b/c/c.go",
		"example.com/m@v1.0.0/other/COPYING",
		"example.com/m@v1.0.0/other/o.go",
		"example.com/!full@v1.2.0/f.go",
		"example.com/!full@v1.2.0/go.mod",
		"example.com/unused@v0.1.0/go.mod",
		"example.com/unused@v0.1.0/LICENSE",
		"example.com/unused@v0.1.0/u.go",
	}
	pkgs := []Package{
		{ImportPath: "example.com/m/a/b", Dir: filepath.Join(cache, "example.com", "m@v1.0.0", "a", "b"), EmbedFiles: []string{"static/index.html"}},
		{ImportPath: "example.com/Full", Dir: filepath.Join(cache, "example.com", "!full@v1.2.0")},
		{ImportPath: "example.com/host/main", Dir: filepath.FromSlash("/src/host/main")},
		{ImportPath: "fmt", Dir: filepath.FromSlash("/goroot/src/fmt")},
	}
	r, kept := trimNames(t, cache, names, pkgs)
	want := []string{
		"cache/download/example.com/m/@v/v1.0.0.mod",
		"cache/download/example.com/m/@v/v1.0.0.ziphash",
		"selfcompile-local/example.com/l/l.go",
		"example.com/m@v1.0.0/go.mod",
		"example.com/m@v1.0.0/LICENSE",
		"example.com/m@v1.0.0/a/NOTICE.txt",
		"example.com/m@v1.0.0/a/b/b.go",
		"example.com/m@v1.0.0/a/b/b_amd64.s",
		"example.com/m@v1.0.0/a/b/static/index.html",
		"example.com/!full@v1.2.0/f.go",
		"example.com/!full@v1.2.0/go.mod",
		"example.com/unused@v0.1.0/go.mod",
		"example.com/unused@v0.1.0/LICENSE",
	}
	if !slices.Equal(kept, want) {
		t.Errorf("kept\n\t%s\nwant\n\t%s", strings.Join(kept, "\n\t"), strings.Join(want, "\n\t"))
	}
	if got := strings.Join(r.Trimmed, " "); got != "example.com/m@v1.0.0 example.com/unused@v0.1.0" {
		t.Errorf("trimmed %q", got)
	}
	if r.Modules != 3 || r.KeptFiles != 10 || r.DroppedFiles != 7 {
		t.Errorf("modules %d, kept %d, dropped %d files; want 3, 10, 7", r.Modules, r.KeptFiles, r.DroppedFiles)
	}
}

// TestTrimKeepsCgoModulesWhole keeps every file of a module one of whose
// used packages the build compiles with cgo: its C code includes a header
// from a directory that is no package, which trimming would leave out.
func TestTrimKeepsCgoModulesWhole(t *testing.T) {
	cache := filepath.FromSlash("/cache")
	names := []string{
		"example.com/c@v1.0.0/go.mod",
		"example.com/c@v1.0.0/c/c.go",
		"example.com/c@v1.0.0/include/c.h",
		"example.com/c@v1.0.0/other/o.go",
		"example.com/pure@v1.0.0/go.mod",
		"example.com/pure@v1.0.0/p/p.go",
		"example.com/pure@v1.0.0/include/p.h",
	}
	pkgs := []Package{
		{ImportPath: "example.com/c/c", Dir: filepath.Join(cache, "example.com", "c@v1.0.0", "c"), Cgo: true},
		{ImportPath: "example.com/pure/p", Dir: filepath.Join(cache, "example.com", "pure@v1.0.0", "p")},
	}
	r, kept := trimNames(t, cache, names, pkgs)
	want := []string{
		"example.com/c@v1.0.0/go.mod",
		"example.com/c@v1.0.0/c/c.go",
		"example.com/c@v1.0.0/include/c.h",
		"example.com/c@v1.0.0/other/o.go",
		"example.com/pure@v1.0.0/go.mod",
		"example.com/pure@v1.0.0/p/p.go",
	}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %q\nwant %q", kept, want)
	}
	if !slices.Equal(r.Trimmed, []string{"example.com/pure@v1.0.0"}) {
		t.Errorf("trimmed %q, want only the module without cgo", r.Trimmed)
	}
}

// trimNames trims the module cache files names (slash-separated, relative
// to cache) to pkgs and returns the result with the names kept.
func trimNames(t *testing.T, cache string, names []string, pkgs []Package) (*Result, []string) {
	t.Helper()
	var entries []bundle.Entry
	for _, n := range names {
		entries = append(entries, bundle.Entry{Name: n, Src: filepath.Join(cache, filepath.FromSlash(n))})
	}
	r, err := Trim(cache, entries, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, e := range r.Entries {
		kept = append(kept, e.Name)
	}
	return r, kept
}
