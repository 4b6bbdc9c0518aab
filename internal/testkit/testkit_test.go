package testkit

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const importPath = "github.com/selfcompile/go-selfcompile/internal/testkit"

// Only tests import this package, and no test looks the go command up on
// its own: it calls NeedGo, whose skip says why.
func TestOnlyTestsUseIt(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		checkFile(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkFile(t *testing.T, p string) {
	t.Helper()
	isTest := strings.HasSuffix(p, "_test.go")
	f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); path == importPath && !isTest {
			t.Errorf("%s imports testkit, which only tests may import", p)
		}
	}
	if !isTest || filepath.Base(filepath.Dir(p)) == "testkit" {
		return
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `exec.LookPath("go")`) {
		t.Errorf("%s looks the go command up itself: call testkit.NeedGo", p)
	}
}

// A snapshot sees files added, changed or replaced at the top of the
// directory, not below it.
func TestWriteAndSnapshot(t *testing.T) {
	dir := t.TempDir()
	WriteFiles(t, dir, map[string]string{"a": "1", "sub/b": "2"})
	WriteTxtar(t, dir, "-- c --\n3\n")
	before := Snapshot(t, dir)
	if len(before) != 3 || !strings.HasPrefix(before["sub"], "d") {
		t.Fatalf("snapshot %v, want a, c and the directory sub", before)
	}
	WriteFiles(t, dir, map[string]string{"sub/b": "changed below the top"})
	if after := Snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("a change below the top changed the snapshot:\n%v\n%v", before, after)
	}
	if err := os.Symlink("a", filepath.Join(dir, "l")); err != nil {
		t.Skip("cannot make a symbolic link here: ", err)
	}
	WriteFiles(t, dir, map[string]string{"a": "changed"})
	after := Snapshot(t, dir)
	if !strings.HasSuffix(after["l"], " -> a") || after["a"] == before["a"] {
		t.Errorf("snapshot %v after a link l and a change of a, before %v", after, before)
	}
}
