//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package selfcompile

import "golang.org/x/sys/unix"

// terminal reports whether fd is a terminal.
func terminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), unix.TIOCGETA)
	return err == nil
}
