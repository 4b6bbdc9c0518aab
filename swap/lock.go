package swap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// LockPath is the sidecar lock file for target.
func LockPath(target string) string {
	return filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".selfcompile.lock")
}

// ErrBusy is returned by Lock when another rebuild holds the lock and the
// caller asked not to wait.
var ErrBusy = errors.New("another rebuild of this binary is in progress")

// Polling bounds of a waiting Lock: flock cannot wait and honour a ctx.
const (
	lockPollMin = 5 * time.Millisecond
	lockPollMax = 100 * time.Millisecond
)

// held counts, by lock path, the locks this process holds, so that
// Recover and Rollback know whether the caller already holds the lock.
var held = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func setHeld(name string, delta int) {
	held.Lock()
	defer held.Unlock()
	held.n[name] += delta
	if held.n[name] <= 0 {
		delete(held.n, name)
	}
}

func heldHere(target string) bool {
	held.Lock()
	defer held.Unlock()
	return held.n[LockPath(target)] > 0
}

// Lock takes the exclusive lock beside target, across processes and
// goroutines. With wait, it waits until the lock is free or ctx is done;
// without, it fails at once with an error wrapping ErrBusy. The returned
// function removes the lock file (where the platform allows it while
// held) and releases the lock.
func Lock(ctx context.Context, target string, wait bool) (unlock func() error, err error) {
	name := LockPath(target)
	delay := lockPollMin
	for {
		f, ok, err := tryLockAt(name)
		if err != nil {
			return nil, err
		}
		if ok {
			setHeld(name, 1)
			return func() error { return release(f, name) }, nil
		}
		if !wait {
			return nil, fmt.Errorf("%w (lock %s is held): wait for it to finish or try again", ErrBusy, name)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for the lock %s: %w", name, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, lockPollMax)
	}
}

// tryLockAt opens (creating) the lock file and tries to lock it once. It
// reports ok=false, with f nil, when someone else holds the lock.
func tryLockAt(name string) (f *os.File, ok bool, err error) {
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("cannot create the lock %s (%w): run with permission to write that directory, or set Options.Output", name, err)
		}
		ok, err := tryLock(f)
		if err != nil || !ok {
			f.Close()
			if err != nil {
				return nil, false, fmt.Errorf("locking %s: %w", name, err)
			}
			return nil, false, nil
		}
		// The holder before us removes the file before unlocking, so we
		// may hold a lock on an orphan that a third process no longer
		// sees. Only the file at name counts.
		if sameFile(f, name) {
			return f, true, nil
		}
		f.Close()
	}
}

// release removes the lock file while still holding it, then unlocks:
// removing it after unlocking could remove a file another process just
// locked.
func release(f *os.File, name string) error {
	setHeld(name, -1)
	rmErr := removeLockFile(name)
	return errors.Join(rmErr, unlockFile(f), f.Close())
}

func sameFile(f *os.File, name string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(name)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}
