package treeindex

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testuser"
)

func TestCheckAndUpdate(t *testing.T) {
	dir, index := t.TempDir(), filepath.Join(t.TempDir(), "index")
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/x.go", "x")
	write("cache/list", "v1")
	o := Options{Skip: func(rel string) bool { return rel == "cache" }}
	if err := Write(index, dir, o); err != nil {
		t.Fatal(err)
	}
	if bad, err := Check(index, dir, o); err != nil || len(bad) != 0 {
		t.Fatalf("fresh index: %v, %v", bad, err)
	}
	write("cache/list", "v2") // skipped: not reported
	write("b/y.go", "y")      // added
	bad, err := Check(index, dir, o)
	if err != nil || strings.Join(bad, ",") != "b/y.go was added" {
		t.Fatalf("Check = %q, %v; want only the added file", bad, err)
	}
	if err := Update(index, dir, o); err != nil {
		t.Fatal(err)
	}
	if bad, err := Check(index, dir, o); err != nil || len(bad) != 0 {
		t.Fatalf("after Update: %v, %v", bad, err)
	}
	write("a/x.go", "X")
	if bad, _ := Check(index, dir, o); strings.Join(bad, ",") != "a/x.go changed" {
		t.Errorf("Check = %q, want a/x.go changed", bad)
	}
	if bad, _ := Check(filepath.Join(dir, "none"), dir, o); len(bad) != 1 || !strings.Contains(bad[0], "no readable index") {
		t.Errorf("Check without an index = %q", bad)
	}
}

// An index, or a tree, another user owns is no proof: Check refuses it
// even when the tree matches.
func TestOtherUsersIndexRefused(t *testing.T) {
	uid, gid := testuser.Need(t)
	dir, index := t.TempDir(), filepath.Join(t.TempDir(), "index")
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(index, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{index, dir} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
		if bad, err := Check(index, dir, Options{}); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s owned by another user: Check = %v, %v; want an error naming it", p, bad, err)
		}
		if err := os.Chown(p, os.Geteuid(), os.Getegid()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(index, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(index, dir, Options{}); err == nil {
		t.Error("an index others may write to: Check accepted it")
	}
}
