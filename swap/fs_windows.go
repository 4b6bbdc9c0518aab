//go:build windows

package swap

import (
	"errors"
	"io/fs"
	"time"

	"golang.org/x/sys/windows"
)

// SyncDir implements FS. Windows has no directory fsync; NTFS journals
// the renames themselves.
func (OS) SyncDir(dir string) error { return nil }

// FreeSpace implements FS with GetDiskFreeSpaceEx.
func (OS) FreeSpace(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, free uint64
	err = windows.GetDiskFreeSpaceEx(p, &avail, &total, &free)
	return avail, err
}

func isNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}

func isReadOnly(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, windows.ERROR_WRITE_PROTECT)
}

// owner is not kept on Windows: a new file inherits the directory's ACL.
func owner(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }

func checkOwner(string, fs.FileInfo, int) error { return nil }

// changeTime is not kept on Windows (its file times have no change
// time); the size and modification time are compared.
func changeTime(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }

// writable cannot tell on Windows: creating the staged file does.
func writable(string) error { return nil }
