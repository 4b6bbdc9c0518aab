package main

import "golang.org/x/sys/unix"

// becomeSubreaper makes this process the parent of its orphaned
// descendants (PR_SET_CHILD_SUBREAPER), instead of PID 1.
func becomeSubreaper() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
