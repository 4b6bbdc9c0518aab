//go:build unix

package safedir

import (
	"io/fs"
	"os"
	"syscall"
)

func owned(path string, fi fs.FileInfo) error {
	e := &Error{Dir: path, Path: path, Owner: ownerOf(fi), Mode: fi.Mode()}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		e.Why = "it is a symbolic link"
	case e.Owner != os.Geteuid():
		e.Why = "it belongs to another user"
	case fi.Mode().Perm()&0o022 != 0:
		e.Why = "group or others may write to it"
	default:
		return nil
	}
	return e
}

// checkAbove checks above, a directory above the trusted dir.
func checkAbove(dir, above string) error {
	fi, err := os.Lstat(above)
	if err != nil {
		return err
	}
	e := &Error{Dir: dir, Path: above, Owner: ownerOf(fi), Mode: fi.Mode()}
	switch {
	case e.Owner != 0 && e.Owner != os.Geteuid():
		e.Why = "it belongs to another user, who may rename what it holds"
	case fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0:
		e.Why = "group or others may write to it and it is not sticky"
	default:
		return nil
	}
	return e
}

func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
