// Package safedir decides whether a directory may be trusted with what a
// rebuild runs: a toolchain, a module cache, a build cache, a work
// directory. As git's safe.directory and ssh's StrictModes do, it trusts
// a directory only if no other user can change what it holds:
//
//   - the directory itself is owned by the effective user and is not
//     writable by group or others;
//   - every directory above it is owned by the effective user or by root,
//     and is not writable by group or others unless it is sticky (as
//     /tmp is), where others may add entries but not rename or remove
//     this user's.
//
// Symbolic links on the way are resolved first and the real path is
// checked, so a link another user can retarget is caught by the check of
// the directory that holds it. An [Error] names the directory, its owner
// and mode, and what to do. On Windows nothing is checked.
package safedir

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Error says why a directory is not trusted.
type Error struct {
	// Dir is the directory refused.
	Dir string
	// Path is what breaks a rule: Dir, a directory above it, or a file
	// in it.
	Path string
	// Owner is Path's owner (a uid) and Mode its mode.
	Owner int
	Mode  fs.FileMode
	// Why says which rule it breaks.
	Why string
}

func (e *Error) Error() string {
	where := e.Path
	if e.Path != e.Dir {
		where = e.Dir + ": " + e.Path
	}
	return fmt.Sprintf("refusing to trust %s (owner uid %d, mode %s): %s, so another user could change what a rebuild runs; make it owned by uid %d and not writable by group or others, or use a directory of your own", where, e.Owner, e.Mode, e.Why, os.Geteuid())
}

// Check reports whether dir, which must exist, and every directory above
// it may be trusted (see the package doc), and returns dir's real path,
// with symbolic links resolved: the path to use from then on.
func Check(dir string) (string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", err
	}
	if err := Owned(real); err != nil {
		return "", err
	}
	for p := filepath.Dir(real); ; p = filepath.Dir(p) {
		if err := checkAbove(real, p); err != nil {
			return "", err
		}
		if filepath.Dir(p) == p {
			return real, nil
		}
	}
}

// MkdirAll makes dir, and the directories above it that are missing, with
// mode 0700, then checks it (see Check) and returns its real path.
func MkdirAll(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return Check(dir)
}

// Owned checks only the file or directory at path, not what is above
// it, without following a symbolic link: it must be owned by the
// effective user and not be writable by group or others. A missing path
// is not an error: what does not exist is made by this user.
func Owned(path string) error {
	fi, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return owned(path, fi)
}
