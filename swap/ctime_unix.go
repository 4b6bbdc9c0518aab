//go:build unix && !darwin && !freebsd && !netbsd

package swap

import "syscall"

// ctim is the inode change time of st.
func ctim(st *syscall.Stat_t) syscall.Timespec { return st.Ctim }
