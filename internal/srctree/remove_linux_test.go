package srctree

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A racer swaps the files and directories of a tree being removed with
// symbolic links to a file and a directory outside it
// (renameat2(RENAME_EXCHANGE), atomic): RemoveAll must not change the
// mode of either, which a chmod by path would.
func TestRemoveAllFollowsNoLink(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("root only"), 0o400); err != nil {
		t.Fatal(err)
	}
	secretDir := filepath.Join(outside, "dir")
	if err := os.Mkdir(secretDir, 0o500); err != nil {
		t.Fatal(err)
	}
	const files = 64
	deadline := time.Now().Add(3 * time.Second)
	rounds := 0
	for ; time.Now().Before(deadline); rounds++ {
		tree := filepath.Join(t.TempDir(), "tree")
		plantTree(t, tree, files, secret, secretDir)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			race(tree, files, stop)
		}()
		err := RemoveAll(tree)
		close(stop)
		wg.Wait()
		if err != nil {
			// The racer may have put an entry back after its
			// directory was read; only the modes outside matter.
			RemoveAll(tree)
		}
		for p, want := range map[string]os.FileMode{secret: 0o400, secretDir: 0o500 | os.ModeDir} {
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != want {
				t.Fatalf("round %d: RemoveAll followed a link: %s is now %v, was %v", rounds, p, fi.Mode(), want)
			}
		}
	}
	t.Logf("%d rounds", rounds)
}

// plantTree makes dir/d/f<i> read-only files and dir/d/s<i> read-only
// directories, and beside each a link, l<i> and m<i>, to target and
// targetDir.
func plantTree(t *testing.T, dir string, n int, target, targetDir string) {
	t.Helper()
	d := filepath.Join(dir, "d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(d, fmt.Sprint("f", i)), nil, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(d, fmt.Sprint("s", i)), 0o500); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(d, fmt.Sprint("l", i))); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(targetDir, filepath.Join(d, fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
}

// race exchanges f<i> with l<i> and s<i> with m<i> until stop.
func race(dir string, n int, stop chan struct{}) {
	d := filepath.Join(dir, "d")
	for {
		for i := range n {
			select {
			case <-stop:
				return
			default:
			}
			for _, pair := range [][2]string{{"f", "l"}, {"s", "m"}} {
				a, b := filepath.Join(d, fmt.Sprint(pair[0], i)), filepath.Join(d, fmt.Sprint(pair[1], i))
				_ = unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
			}
		}
	}
}
