//go:build unix && !linux

package proc

import "syscall"

// endWithParent does nothing: only Linux has a parent-death signal. A
// helper learns that its host went from the end of its standard input.
func endWithParent(*syscall.SysProcAttr) {}
