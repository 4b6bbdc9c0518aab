package swap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Recovery says what Recover found and did.
type Recovery struct {
	// Removed lists the leftovers removed: staged binaries, unfinished
	// backups, and a lock file that nobody held.
	Removed []string
	// Restored is the backup moved back to the target path because the
	// target was missing; empty otherwise.
	Restored string
}

// Recover repairs what an interrupted run left beside target; run it at
// the start of every rebuild. It removes staged binaries
// (.NAME.selfcompile-new-*), unfinished backups
// (NAME.selfcompile-backup.tmp-*) and a lock file nobody holds, and when
// target is missing it moves the newest backup back in its place. It
// touches no other file.
//
// Call it holding Lock for target, or with no lock on target held in this
// process: then it takes the lock itself, and fails with ErrBusy if
// another process holds it.
func Recover(target string) (Recovery, error) {
	return recoverWith(OS{}, target)
}

func recoverWith(fsys FS, target string) (Recovery, error) {
	var rep Recovery
	stale, err := withLock(target, func() error { return repair(fsys, target, &rep) })
	if stale {
		rep.Removed = append(rep.Removed, LockPath(target))
	}
	return rep, err
}

// repair removes the leftovers and restores a missing target.
func repair(fsys FS, target string, rep *Recovery) error {
	dir, base := filepath.Split(target)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !isLeftover(base, e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := ignoreNotExist(fsys.Remove(p)); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Removed = append(rep.Removed, p)
	}
	restored, err := restoreMissing(fsys, target)
	rep.Restored = restored
	return errors.Join(append(errs, err)...)
}

// isLeftover reports whether name, in the directory of target base, is a
// staged binary or an unfinished backup.
func isLeftover(base, name string) bool {
	return strings.HasPrefix(name, "."+base+".selfcompile-new-") ||
		strings.HasPrefix(name, base+BackupSuffix+".tmp-")
}

// restoreMissing moves the newest backup to target if target is missing,
// and returns the backup's path.
func restoreMissing(fsys FS, target string) (string, error) {
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	bs, err := Backups(target)
	if err != nil || len(bs) == 0 {
		return "", err
	}
	if err := fsys.Rename(bs[0], target); err != nil {
		return "", fmt.Errorf("restoring the missing %s from %s: %w", target, bs[0], err)
	}
	syncDir(fsys, filepath.Dir(target))
	return bs[0], nil
}

// withLock runs fn holding the lock on target: the caller's, when this
// process holds it, or one taken without waiting. stale reports that it
// removed a lock file that nobody held.
func withLock(target string, fn func() error) (stale bool, err error) {
	if heldHere(target) {
		return false, fn()
	}
	name := LockPath(target)
	_, err = os.Lstat(name)
	existed := err == nil
	unlock, err := Lock(context.Background(), target, false) // no wait: ctx unused
	if err != nil {
		return false, err
	}
	err = errors.Join(fn(), unlock())
	_, statErr := os.Lstat(name)
	return existed && errors.Is(statErr, fs.ErrNotExist), err
}

// Backups returns the paths of target's backups, newest first.
func Backups(target string) ([]string, error) {
	idx, err := backupIndexes(target)
	paths := make([]string, len(idx))
	for i, n := range idx {
		paths[i] = backupPath(target, n)
	}
	return paths, err
}

// backupIndexes returns the numbers of target's backups, ascending:
// 1 for NAME.selfcompile-backup, n for NAME.selfcompile-backup.n.
func backupIndexes(target string) ([]int, error) {
	dir, base := filepath.Split(target)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var idx []int
	for _, e := range entries {
		if n, ok := backupIndex(base, e.Name()); ok {
			idx = append(idx, n)
		}
	}
	slices.Sort(idx)
	return idx, nil
}

// backupIndex parses name as a backup of base; see backupIndexes.
func backupIndex(base, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, base+BackupSuffix)
	if !ok {
		return 0, false
	}
	if rest == "" {
		return 1, true
	}
	digits, ok := strings.CutPrefix(rest, ".")
	if !ok || digits == "" || digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 2
}

// Rollback puts the newest backup of target back in its place, atomically
// on unix, and keeps the binary it replaces as the newest backup: a second
// Rollback undoes the first. It fails with an error wrapping ErrNoBackup
// when there is none. Like Recover, it uses the caller's lock or takes one
// without waiting.
func Rollback(target string) error {
	_, err := withLock(target, func() error { return rollback(OS{}, target) })
	return err
}

func rollback(fsys FS, target string) error {
	bs, err := Backups(target)
	if err != nil {
		return err
	}
	if len(bs) == 0 {
		return fmt.Errorf("%w for %s: keep backups (Options.Backups) to be able to roll back", ErrNoBackup, target)
	}
	if restored, err := restoreMissing(fsys, target); restored != "" || err != nil {
		return err
	}
	return restore(fsys, target, bs[0], backupPath(target, 1))
}
