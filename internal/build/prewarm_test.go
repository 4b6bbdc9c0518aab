package build

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// Prewarm adds the part's cache entries once, keeping entries already in
// the cache.
func TestPrewarm(t *testing.T) {
	src := t.TempDir()
	testkit.WriteFiles(t, src, map[string]string{"ab/ab12-a": "action", "ab/ab12-d": "output", "cd/cd34-d": "other output"})
	var entries []bundle.Entry
	for _, n := range []string{"ab/ab12-a", "ab/ab12-d", "cd/cd34-d"} {
		entries = append(entries, bundle.Entry{Name: n, Src: filepath.Join(src, filepath.FromSlash(n))})
	}
	dir := t.TempDir()
	dummy := filepath.Join(src, "ab/ab12-a")
	m, err := archive.Write(dir, bundle.Manifest{Module: "example.com/host"}, map[string]archive.Source{
		bundle.ToolchainFile: archive.Archive([]bundle.Entry{{Name: "go/VERSION", Src: dummy}}, archive.LevelFast),
		bundle.HelperFile:    archive.Archive([]bundle.Entry{{Name: "go-selfcompile", Src: dummy}}, archive.LevelFast),
		bundle.SourceFile:    archive.Archive(nil, archive.LevelFast),
		bundle.ModulesFile:   archive.Archive(nil, archive.LevelFast),
		bundle.StdCacheFile:  archive.Archive(entries, archive.LevelFast),
	})
	if err != nil {
		t.Fatal(err)
	}
	if names := m.PartNames(); names[len(names)-1] != bundle.StdCacheFile {
		t.Errorf("PartNames %v lacks the optional part", names)
	}
	gocache := t.TempDir()
	testkit.WriteFiles(t, gocache, map[string]string{"cd/cd34-d": "already here"})
	n, err := Prewarm(os.DirFS(dir), m, gocache)
	if err != nil || n != 2 {
		t.Fatalf("Prewarm = %d, %v; want the 2 entries not already there", n, err)
	}
	if got := readFile(t, filepath.Join(gocache, "ab/ab12-d")); got != "output" {
		t.Errorf("entry %q", got)
	}
	if got := readFile(t, filepath.Join(gocache, "cd/cd34-d")); got != "already here" {
		t.Errorf("an entry already in the cache was replaced: %q", got)
	}
	if n, err := Prewarm(os.DirFS(dir), m, gocache); err != nil || n != 0 {
		t.Errorf("second Prewarm = %d, %v; want nothing to do", n, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(gocache, ".prewarm-*"))
	if len(leftovers) != 0 {
		t.Errorf("left %v", leftovers)
	}
}
