//go:build unix

package swap

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SyncDir implements FS by fsyncing the opened directory.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

func isReadOnly(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
}

// owner returns the owner and group of fi.
func owner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// checkOwner refuses a target owned by another user unless euid is root:
// the new file would belong to euid, and only root may give it back.
func checkOwner(path string, fi fs.FileInfo, euid int) error {
	uid, _, ok := owner(fi)
	if !ok || euid == 0 || uid == euid {
		return nil
	}
	return refused(ErrNotOwner, path, nil,
		"cannot replace %s: it belongs to uid %d and this process runs as uid %d; run as that user or as root, or set Options.Output", path, uid, euid)
}

// writable reports why this process, with its effective ids, cannot
// create files in dir.
func writable(dir string) error {
	return unix.Faccessat(unix.AT_FDCWD, dir, unix.W_OK|unix.X_OK, unix.AT_EACCESS)
}

// changeTime returns when fi's inode last changed (ctime): any write,
// chmod or chown sets it to the current time, and no call sets it back.
func changeTime(fi fs.FileInfo) (time.Time, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false
	}
	t := ctim(st)
	return time.Unix(t.Unix()), true
}
