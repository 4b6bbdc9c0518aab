//go:build unix

package treeindex

import (
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// stamp is what changes when a file is written, replaced or chmod-ed: its
// modification time, and its change time and inode, which cannot be set
// back.
func stamp(p string, fi fs.FileInfo) string {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return fmt.Sprint(fi.ModTime().UnixNano())
	}
	return fmt.Sprintf("%d.%d.%d", fi.ModTime().UnixNano(), st.Ctim.Nano(), st.Ino)
}
