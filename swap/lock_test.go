//go:build unix

package swap

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLockGoroutines: goroutines contending for the lock never hold it at
// the same time, the lock file exists while held, and is gone at the end.
func TestLockGoroutines(t *testing.T) {
	target := filepath.Join(t.TempDir(), "host")
	var inside atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				unlock, err := Lock(t.Context(), target, true)
				if err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders at once", n)
				}
				if _, err := os.Lstat(LockPath(target)); err != nil {
					t.Errorf("lock file while held: %v", err)
				}
				inside.Add(-1)
				if err := unlock(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := os.Lstat(LockPath(target)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after the last unlock: %v", err)
	}
}

// TestLockNoWait: without waiting, a held lock gives ErrBusy at once.
func TestLockNoWait(t *testing.T) {
	target := filepath.Join(t.TempDir(), "host")
	unlock, err := Lock(t.Context(), target, false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, err = Lock(t.Context(), target, false)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("second Lock: %v, want ErrBusy", err)
	}
}

// TestLockCancel: a Lock waiting for a held lock returns the ctx's error
// when ctx is cancelled.
func TestLockCancel(t *testing.T) {
	target := filepath.Join(t.TempDir(), "host")
	unlock, err := Lock(t.Context(), target, false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := Lock(ctx, target, true)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting Lock after cancel: %v, want context.Canceled", err)
	}
}

// TestLockProcesses: a lock held by another process gives ErrBusy to
// Lock without waiting, to Recover and to Rollback; a waiting Lock gets it
// once that process releases it; the lock file is removed on unlock.
func TestLockProcesses(t *testing.T) {
	target := filepath.Join(t.TempDir(), "host")
	writeFile(t, target, fakeBinary("v0"), 0o755)
	cmd := helperCmd(t, "holdlock", envTarget+"="+target)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	if _, err := Lock(t.Context(), target, false); !errors.Is(err, ErrBusy) {
		t.Errorf("Lock: %v, want ErrBusy", err)
	}
	if _, err := Recover(target); !errors.Is(err, ErrBusy) {
		t.Errorf("Recover: %v, want ErrBusy", err)
	}
	if err := Rollback(target); !errors.Is(err, ErrBusy) {
		t.Errorf("Rollback: %v, want ErrBusy", err)
	}
	got := make(chan error)
	go func() {
		unlock, err := Lock(t.Context(), target, true)
		if err == nil {
			err = unlock()
		}
		got <- err
	}()
	stdin.Close() // the helper unlocks and exits
	if err := <-got; err != nil {
		t.Fatalf("waiting Lock: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if _, err := os.Lstat(LockPath(target)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after unlock: %v", err)
	}
}
