// Package swap owns the moment a rebuilt binary takes the place of the
// running one: it resolves the target once, holds a cross-process lock
// beside it, stages the new file in the same directory (unique name,
// original mode, fsynced), keeps the old binary as a backup by hard link so
// that the path always names a complete binary, and replaces the target
// with one rename.
package swap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// BackupSuffix is appended to the target's name for its backup.
const BackupSuffix = ".selfcompile-backup"

// ResolveTarget returns the real file behind path (symlinks followed) and
// checks that it is a regular file.
func ResolveTarget(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolving the executable %s: %w", path, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("the executable %s is not a regular file: set Options.Output to write the new binary elsewhere", real)
	}
	return real, nil
}

// LockPath is the sidecar lock file for target.
func LockPath(target string) string {
	return filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".selfcompile.lock")
}

// ErrBusy is returned by Lock when another rebuild holds the lock and the
// caller asked not to wait.
var ErrBusy = errors.New("another rebuild of this binary is in progress")

// lockPoll is how often a waiting Lock retries.
const lockPoll = 100 * time.Millisecond

// Lock takes the exclusive lock beside target. With wait, it waits until
// the lock is free or ctx is done; without, it fails at once with ErrBusy.
// The returned function removes the lock file and releases the lock.
func Lock(ctx context.Context, target string, wait bool) (unlock func() error, err error) {
	name := LockPath(target)
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("cannot create the lock %s (%w): run with permission to write that directory, or set Options.Output", name, err)
		}
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", name, err)
		}
		if ok {
			// The holder before us removes the file before unlocking, so
			// we may hold a lock on an orphan that a third process no
			// longer sees. Only the file at name counts.
			if sameFile(f, name) {
				return func() error {
					rmErr := ignoreNotExist(os.Remove(name))
					return errors.Join(rmErr, unlockFile(f), f.Close())
				}, nil
			}
			f.Close()
			continue
		}
		f.Close()
		if !wait {
			return nil, fmt.Errorf("%w (lock %s is held): wait for it to finish or try again", ErrBusy, name)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the lock %s: %w", name, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

func sameFile(f *os.File, name string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(name)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Stage copies src into a new, uniquely named file beside target with the
// target's mode (or mode, when target does not exist), fsynced. It returns
// the staged file's path; the caller removes it if the swap does not happen.
func Stage(target, src string, mode fs.FileMode) (string, error) {
	if fi, err := os.Stat(target); err == nil {
		mode = fi.Mode().Perm()
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	// os.CreateTemp opens with O_EXCL and a random name.
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".selfcompile-new-*")
	if err != nil {
		return "", fmt.Errorf("cannot write beside %s (%w): run with permission to write its directory, or set Options.Output", target, err)
	}
	staged := f.Name()
	err = func() error {
		if _, err := io.Copy(f, in); err != nil {
			return err
		}
		// Chmod is not subject to the umask, unlike the mode given to open.
		if err := f.Chmod(mode); err != nil {
			return err
		}
		return f.Sync()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(staged)
		return "", fmt.Errorf("staging the new binary beside %s: %w", target, err)
	}
	return staged, nil
}

// Replace puts staged in place of target with one rename. When keepBackup
// is set and target exists, the old binary is first hard-linked (or, where
// links are impossible, copied) to target+BackupSuffix, so that no moment
// passes without a complete binary at target. It returns the backup path.
func Replace(target, staged string, keepBackup bool) (backup string, err error) {
	if keepBackup {
		if _, err := os.Stat(target); err == nil {
			backup = target + BackupSuffix
			if err := linkOrCopy(target, backup); err != nil {
				return "", fmt.Errorf("keeping a backup of %s: %w", target, err)
			}
		}
	}
	if err := os.Rename(staged, target); err != nil {
		return "", fmt.Errorf("replacing %s: %w", target, err)
	}
	return backup, syncDir(filepath.Dir(target))
}

// linkOrCopy makes dst a copy of src (a hard link where possible) without
// a moment where dst is partial: it creates a temporary name first and
// renames it over dst.
func linkOrCopy(src, dst string) error {
	tmp := fmt.Sprintf("%s.tmp-%d", dst, os.Getpid())
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		if err := copyFile(src, tmp); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(fi.Mode().Perm())
	}
	if err == nil {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		// Some platforms and file systems cannot sync a directory; the
		// rename is still atomic there.
		return nil
	}
	return nil
}
