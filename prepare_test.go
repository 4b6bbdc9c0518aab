package selfcompile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/safedir"
	"github.com/selfcompile/go-selfcompile/internal/testuser"
)

// undo runs what prepare defers, last first.
type undo []func() error

func (u *undo) Defer(_ string, fn func() error) { *u = append(*u, fn) }

func (u undo) run() {
	for i := len(u) - 1; i >= 0; i-- {
		_ = u[i]()
	}
}

// plant makes dir, and the directories from base down to it, belong to
// another user, as a cache they planted for this user's rebuild.
func plant(t *testing.T, base, dir string) {
	t.Helper()
	uid, gid := testuser.Need(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for p := dir; p != base; p = filepath.Dir(p) {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
}

func wantUntrusted(t *testing.T, err error, path string) {
	t.Helper()
	var se *safedir.Error
	if !errors.As(err, &se) || se.Path != path {
		t.Fatalf("got %v, want a refusal of %s", err, path)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "owned by uid") {
		t.Errorf("refusal is not one line saying what to do: %q", msg)
	}
}

// The sudo case: the cache root is another user's, or lies in their
// directory (XDG_CACHE_HOME pointing at their ~/.cache).
func TestPrepareRefusesOtherUsersCache(t *testing.T) {
	base := t.TempDir()
	theirs := filepath.Join(base, "home", ".cache")
	plant(t, base, filepath.Join(theirs, "go-selfcompile", "toolchain"))
	_, err := cacheDir(filepath.Join(theirs, "go-selfcompile"))
	wantUntrusted(t, err, filepath.Join(theirs, "go-selfcompile"))

	t.Setenv("XDG_CACHE_HOME", theirs)
	_, err = cacheDir("")
	wantUntrusted(t, err, filepath.Join(theirs, "go-selfcompile"))

	// Missing, and made by this user, but in their directory.
	_, err = cacheDir(filepath.Join(theirs, "new"))
	wantUntrusted(t, err, theirs)
}

// Inside a cache of this user's, a toolchain directory, a build cache or
// a kept module cache that another user owns is refused too.
func TestPrepareRefusesOtherUsersSubdirectories(t *testing.T) {
	for _, sub := range []string{"toolchain", "gocache", "work"} {
		t.Run(sub, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			if err := os.Mkdir(cache, 0o700); err != nil {
				t.Fatal(err)
			}
			plant(t, cache, filepath.Join(cache, sub))
			err := tryPrepareDirs(cache)
			wantUntrusted(t, err, filepath.Join(cache, sub))
		})
	}
	t.Run("modcache", func(t *testing.T) {
		cache := filepath.Join(t.TempDir(), "cache")
		if err := os.MkdirAll(filepath.Join(cache, "work"), 0o700); err != nil {
			t.Fatal(err)
		}
		j := testJob()
		if err := tryPrepareDirs(cache); err != nil {
			t.Fatal(err)
		}
		mod := filepath.Join(cache, "work", workKey(j.info)+".mod")
		plant(t, filepath.Join(cache, "work"), mod)
		wantUntrusted(t, tryPrepareDirs(cache), mod)
	})
}

func testJob() *job {
	return &job{info: &bundle.Info{MainPackage: "example.com/host", GOOS: "linux", GOARCH: "amd64"}}
}

// tryPrepareDirs runs what prepare does to choose its directories.
func tryPrepareDirs(cache string) error {
	j := testJob()
	var err error
	if j.cache, err = cacheDir(cache); err != nil {
		return err
	}
	var u undo
	defer func() { u.run() }()
	return j.makeWorkDir(context.Background(), Options{}, &u, func(string, ...any) {})
}

// The cache's subdirectories are made 0700 by prepare, not left for the
// go command to make with the umask's mode.
func TestPrepareMakesPrivateSubdirectories(t *testing.T) {
	cache, err := cacheDir(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"toolchain", "gocache"} {
		if fi, err := os.Stat(filepath.Join(cache, sub)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want a directory with mode 0700", sub, fi, err)
		}
	}
}
