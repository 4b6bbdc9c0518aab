// Package testkit holds the helpers the tests of every package share:
// skipping a test that needs a command this machine lacks (saying which
// and why), writing a tree of files, the environment of a hermetic go
// command, and a snapshot of a directory to compare before and after.
// Only tests import it.
package testkit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/tools/txtar"
)

// NeedGo returns the path of the go command on PATH, or skips t saying
// that there is none.
func NeedGo(t testing.TB) string {
	t.Helper()
	return NeedCommand(t, "go")
}

// NeedCommand returns the path of the command name on PATH, or skips t
// saying that there is none.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("needs the %s command on PATH: %v", name, err)
	}
	return p
}

// GoEnv is the process environment with the go command made hermetic for
// a temporary module: no proxy, no workspace, the local toolchain, and
// go.mod updated as needed; extra is appended (later entries win).
func GoEnv(extra ...string) []string {
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	return append(env, extra...)
}

// WriteFiles writes each file of files, named by a slash-separated path
// relative to dir, creating the directories it needs; it fails t on error.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
}

// WriteTxtar writes the files of the txtar archive into dir, creating the
// directories they need; it fails t on error.
func WriteTxtar(t testing.TB, dir, archive string) {
	t.Helper()
	if err := UnpackTxtar(dir, archive); err != nil {
		t.Fatal(err)
	}
}

// UnpackTxtar is [WriteTxtar] for code that runs outside a test, such as
// a build shared by the tests of a package.
func UnpackTxtar(dir, archive string) error {
	for _, f := range txtar.Parse([]byte(archive)).Files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.Name)), f.Data); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// Snapshot maps each entry of dir (not of its subdirectories) to its mode
// and, for a regular file, the sha256 of its contents or, for a symbolic
// link, its target: two snapshots are equal when no entry of dir was
// added, removed, replaced or changed.
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = describe(t, p, fi)
	}
	return m
}

// describe is the snapshot entry of the file p.
func describe(t testing.TB, p string, fi os.FileInfo) string {
	t.Helper()
	switch {
	case fi.Mode().IsRegular():
		data, err := os.ReadFile(p)
		if err != nil { // a test may make a file unreadable on purpose
			return fmt.Sprintf("%v unreadable", fi.Mode())
		}
		sum := sha256.Sum256(data)
		return fmt.Sprintf("%v %s", fi.Mode(), hex.EncodeToString(sum[:]))
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%v -> %s", fi.Mode(), target)
	default: // a directory, or the FIFO of swap's TestRefuseNotRegular
		return fi.Mode().String()
	}
}
