//go:build darwin || freebsd || netbsd

package swap

import "syscall"

// ctim is the inode change time of st; these systems name it Ctimespec.
func ctim(st *syscall.Stat_t) syscall.Timespec { return st.Ctimespec }
