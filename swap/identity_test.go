//go:build unix

package swap

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// A target replaced, changed, deleted or created by someone else after
// Identify is refused with ErrChanged: their file is kept as it is, no
// backup is made and nothing is staged.
func TestInstallRefusesChangedTarget(t *testing.T) {
	for _, tc := range []struct {
		name    string
		exists  bool
		meddle  func(t *testing.T, target string)
		refused bool
	}{
		{"unchanged", true, func(*testing.T, string) {}, false},
		{"replaced", true, func(t *testing.T, target string) {
			other := target + ".theirs"
			writeFile(t, other, fakeBinary("theirs"), 0o755)
			if err := os.Rename(other, target); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"rewritten", true, func(t *testing.T, target string) {
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("more")
			f.Close()
		}, true},
		{"rewritten, modification time set back", true, func(t *testing.T, target string) {
			fi, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			// The same size, so that only the change time tells, and
			// later than the file times' granularity (a clock tick).
			time.Sleep(20 * time.Millisecond)
			data := []byte(strings.Repeat("x", int(fi.Size())))
			if err := os.WriteFile(target, data, 0); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(target, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			if now, err := os.Stat(target); err != nil || now.Size() != fi.Size() || !now.ModTime().Equal(fi.ModTime()) {
				t.Fatalf("the rewrite changed the size or modification time: %v", err)
			}
		}, true},
		{"touched", true, func(t *testing.T, target string) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(target, later, later); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"deleted", true, func(t *testing.T, target string) {
			if err := os.Remove(target); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"created", false, func(t *testing.T, target string) {
			writeFile(t, target, fakeBinary("theirs"), 0o755)
		}, true},
		{"still missing", false, func(*testing.T, string) {}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "host")
			if tc.exists {
				writeFile(t, target, fakeBinary("old"), 0o755)
			}
			src := filepath.Join(t.TempDir(), "new")
			writeFile(t, src, fakeBinary("new"), 0o755)
			id, err := Identify(target)
			if err != nil {
				t.Fatal(err)
			}
			tc.meddle(t, target)
			before := testkit.Snapshot(t, dir)
			_, err = Install(target, src, Options{Expect: &id})
			if !tc.refused {
				if err != nil {
					t.Fatal(err)
				}
				if got, err := os.ReadFile(target); err != nil || string(got) != string(fakeBinary("new")) {
					t.Errorf("target after Install: %q, %v", got, err)
				}
				return
			}
			var re *RefusedError
			if !errors.Is(err, ErrChanged) || !errors.As(err, &re) || re.Path != target {
				t.Fatalf("Install: %v, want a refusal with ErrChanged", err)
			}
			if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("the refused swap changed the directory:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// Check refuses before a rebuild what Install would refuse after it.
func TestCheckBeforeRebuild(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "host")
	writeFile(t, target, fakeBinary("old"), 0o755)
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	uid, _, _ := owner(fi)
	if err := check(target, uid); err != nil {
		t.Errorf("own target: %v", err)
	}
	if err := check(target, uid+1); !errors.Is(err, ErrNotOwner) && ownerKnown(fi) {
		t.Errorf("another user's target: %v, want ErrNotOwner", err)
	}
	if err := check(dir, uid); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a directory: %v, want ErrNotRegular", err)
	}
	if err := check(filepath.Join(dir, "missing"), uid); err != nil {
		t.Errorf("a missing target: %v", err)
	}
}

func ownerKnown(fi os.FileInfo) bool {
	_, _, ok := owner(fi)
	return ok
}
