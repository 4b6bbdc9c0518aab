package swap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Identity is what a target was when a rebuild began: the file (device
// and inode, or Windows' file index), its size, mode, modification time
// and, on unix, inode change time (ctime), or its absence. The change
// time catches a file rewritten in place whose modification time was
// set back (touch -r, os.Chtimes): no call sets the change time. Install,
// given it in Options.Expect, compares the target with it just before
// the swap, so that a binary someone else replaced during the rebuild is
// not overwritten with a rebuild of the old one, and a binary deleted
// meanwhile (uninstalled) is not written back.
type Identity struct {
	fi fs.FileInfo // nil: there was no file
}

// Identify returns the identity of the file at target, without following
// a symbolic link; a missing target has an identity too.
func Identify(target string) (Identity, error) {
	fi, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return Identity{}, nil
	}
	if err != nil {
		return Identity{}, err
	}
	return Identity{fi: fi}, nil
}

// String describes the file the identity is of.
func (id Identity) String() string {
	if id.fi == nil {
		return "no file"
	}
	const layout = "2006-01-02 15:04:05.000000000"
	s := fmt.Sprintf("%d bytes, modified %s", id.fi.Size(), id.fi.ModTime().Format(layout))
	if ctime, ok := changeTime(id.fi); ok {
		s += ", changed " + ctime.Format(layout)
	}
	return s
}

// same reports whether now is the file id was taken of, unchanged.
func (id Identity) same(now Identity) bool {
	if id.fi == nil || now.fi == nil {
		return id.fi == nil && now.fi == nil
	}
	then, ok1 := changeTime(id.fi)
	ctime, ok2 := changeTime(now.fi)
	return os.SameFile(id.fi, now.fi) && id.fi.Size() == now.fi.Size() &&
		id.fi.ModTime().Equal(now.fi.ModTime()) && id.fi.Mode() == now.fi.Mode() &&
		ok1 == ok2 && then.Equal(ctime)
}

// checkUnchanged refuses when target is no longer the file want was
// taken of.
func checkUnchanged(target string, want *Identity) error {
	if want == nil {
		return nil
	}
	now, err := Identify(target)
	if err != nil {
		return err
	}
	if want.same(now) {
		return nil
	}
	what := "was replaced"
	switch {
	case want.fi == nil:
		what = "was created"
	case now.fi == nil:
		what = "was deleted"
	case os.SameFile(want.fi, now.fi):
		what = "was changed"
	}
	return refused(ErrChanged, target, nil,
		"not replacing %s: it %s by someone else during the rebuild (then %s, now %s); what is there is kept: run the rebuild again to start from it", target, what, *want, now)
}

// Check makes, before a rebuild, the checks that Install makes before
// changing anything, besides the free space: it refuses, with a
// *RefusedError, a target that is not a regular file, one that belongs
// to another user when this process is not root, and a directory it
// cannot write to.
func Check(target string) error {
	return check(target, os.Geteuid())
}

func check(target string, euid int) error {
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return notRegular(target, fi.Mode())
	default:
		if err := checkOwner(target, fi, euid); err != nil {
			return err
		}
	}
	dir := filepath.Dir(target)
	if err := writable(dir); err != nil {
		return readOnly(dir, err)
	}
	return nil
}
