package treeindex

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzIndex: Check and Sums read any index without panicking, and an
// index that matches the tree is only one that records it: a crafted
// index cannot make an altered file pass.
func FuzzIndex(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte("package x\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	index := filepath.Join(f.TempDir(), "index")
	if err := Write(index, dir, Options{}); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(index)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("abc 1 644 0 x.go\n"))
	f.Add([]byte(strings.Repeat("x", 2<<20)))
	f.Add([]byte("a b c d\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte("package y\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		index := filepath.Join(t.TempDir(), "index")
		if err := os.WriteFile(index, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Sums(index)
		bad, err := Check(index, dir, Options{})
		if err == nil && len(bad) == 0 {
			// Only an index holding the sha256 of what x.go holds now
			// may pass.
			if !strings.Contains(string(data), sumOf(t, filepath.Join(dir, "x.go"))) {
				t.Errorf("an index without the file's sha256 passed:\n%q", data)
			}
		}
	})
}

func sumOf(t *testing.T, name string) string {
	s, err := hashFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
