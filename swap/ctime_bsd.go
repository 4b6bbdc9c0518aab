//go:build darwin || freebsd || netbsd

package swap

import (
	"io/fs"
	"syscall"
	"time"
)

// changeTime returns when fi's inode last changed (ctime): any write,
// chmod or chown sets it to the current time, and no call sets it back.
func changeTime(fi fs.FileInfo) (time.Time, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(st.Ctimespec.Unix()), true
}
