//go:build windows

package swap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"golang.org/x/sys/windows"
)

// A running executable, or one an antivirus scanner or indexer has open,
// cannot be replaced; renaming it aside works once nobody else holds it
// without sharing. These bound the retries: about 2.5 s in all.
const (
	moveTries = 9
	moveDelay = 10 * time.Millisecond
)

// move renames oldpath to newpath, retrying while another process holds
// either file.
func move(fsys FS, oldpath, newpath string) error {
	delay := moveDelay
	for i := 1; ; i++ {
		err := fsys.Rename(oldpath, newpath)
		if err == nil || i == moveTries || !sharingViolation(err) {
			return err
		}
		time.Sleep(delay)
		delay *= 2
	}
}

func sharingViolation(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
		errors.Is(err, windows.ERROR_LOCK_VIOLATION) ||
		errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

// moveIn renames newPath over target, which must not be running.
func moveIn(fsys FS, newPath, target string) error {
	if err := move(fsys, newPath, target); err != nil {
		return fmt.Errorf("replacing %s: %w", target, err)
	}
	return nil
}

// replaceKeeping runs makeRoom (the backup rotation), moves the (possibly
// running) file at target aside to keep, then moves newPath in. If the
// second move fails, the old file is moved back. Between the two moves the
// path is empty; Recover moves keep back if the process dies there.
func replaceKeeping(fsys FS, target, newPath, keep string, makeRoom func() error) error {
	if err := makeRoom(); err != nil {
		return err
	}
	if err := move(fsys, target, keep); err != nil {
		return fmt.Errorf("moving %s aside: %w", target, err)
	}
	if err := move(fsys, newPath, target); err != nil {
		return errors.Join(fmt.Errorf("replacing %s: %w", target, err), move(fsys, keep, target))
	}
	return nil
}

// restore moves backup to target after moving the file at target aside,
// and then gives that file the name keep (which may be backup itself).
func restore(fsys FS, target, backup, keep string) error {
	aside := fmt.Sprintf("%s.tmp-%d", keep, rand.Uint32())
	if err := move(fsys, target, aside); err != nil {
		return fmt.Errorf("moving %s aside: %w", target, err)
	}
	if err := move(fsys, backup, target); err != nil {
		return errors.Join(fmt.Errorf("restoring %s: %w", backup, err), move(fsys, aside, target))
	}
	if err := move(fsys, aside, keep); err != nil {
		return fmt.Errorf("restored %s, but the replaced binary is left at %s: %w", backup, aside, err)
	}
	return nil
}
