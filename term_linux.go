package selfcompile

import "golang.org/x/sys/unix"

// terminal reports whether fd is a terminal.
func terminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
	return err == nil
}
