//go:build unix

package safedir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testuser"
)

// private is a fresh directory of this user's, mode 0700, whose path down
// from / passes the checks (t.TempDir is under a sticky /tmp).
func private(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := Check(dir); err != nil {
		t.Skipf("the test's own temporary directory is not trusted: %v", err)
	}
	return dir
}

func otherUser(t *testing.T) (uid, gid int) {
	t.Helper()
	return testuser.Need(t)
}

func wantRefused(t *testing.T, err error, path, why string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a refusal of %s", err, path)
	}
	if e.Path != path || !strings.Contains(e.Why, why) {
		t.Errorf("refused %s because %q, want %s because %q", e.Path, e.Why, path, why)
	}
	msg := err.Error()
	for _, s := range []string{path, "uid " + strconv.Itoa(e.Owner), e.Mode.String(), "owned by uid " + strconv.Itoa(os.Geteuid())} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not say %q", msg, s)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is more than one line: %q", msg)
	}
}

func TestOwnDirectoryTrusted(t *testing.T) {
	dir := filepath.Join(private(t), "cache", "go-selfcompile")
	real, err := MkdirAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	if real != dir {
		t.Errorf("MkdirAll returned %s, want %s", real, dir)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("made %v (%v), want mode 0700", fi.Mode(), err)
	}
}

// The sudo case: a cache another user owns, or one in their directory.
func TestOtherUsersDirectoryRefused(t *testing.T) {
	uid, gid := otherUser(t)
	base := private(t)
	theirs := filepath.Join(base, "home")
	cache := filepath.Join(theirs, ".cache", "go-selfcompile")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{theirs, filepath.Dir(cache), cache} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Check(cache)
	wantRefused(t, err, cache, "another user")

	// Ours, but inside theirs: they may rename it and put their own.
	if err := os.Chown(cache, os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	_, err = Check(cache)
	wantRefused(t, err, filepath.Dir(cache), "another user")
}

func TestWritableDirectoryRefused(t *testing.T) {
	base := private(t)
	dir := filepath.Join(base, "cache")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	_, err := Check(dir)
	wantRefused(t, err, dir, "write")

	// A directory above it that others may write to, not sticky.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err = Check(dir)
	wantRefused(t, err, base, "not sticky")

	// Sticky, as /tmp is: others may not rename this user's entries.
	if err := os.Chmod(base, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(dir); err != nil {
		t.Errorf("a directory under a sticky one: %v", err)
	}
}

// A link is resolved and the real path checked: the link's own directory
// is checked as a directory above.
func TestLinkResolved(t *testing.T) {
	uid, gid := otherUser(t)
	base := private(t)
	theirs := filepath.Join(base, "theirs")
	if err := os.Mkdir(theirs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, uid, gid); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "cache")
	if err := os.Symlink(theirs, link); err != nil {
		t.Fatal(err)
	}
	_, err := Check(link)
	wantRefused(t, err, theirs, "another user")

	mine := filepath.Join(base, "mine")
	if err := os.Mkdir(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(mine, link); err != nil {
		t.Fatal(err)
	}
	if real, err := Check(link); err != nil || real != mine {
		t.Errorf("Check(link to own directory) = %s, %v; want %s", real, err, mine)
	}
}

func TestOwnedFile(t *testing.T) {
	uid, gid := otherUser(t)
	f := filepath.Join(private(t), "index")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Owned(f); err != nil {
		t.Errorf("own file: %v", err)
	}
	if err := os.Chown(f, uid, gid); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, Owned(f), f, "another user")
	if err := Owned(f + ".missing"); err != nil {
		t.Errorf("missing file: %v", err)
	}
}
