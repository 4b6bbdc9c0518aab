//go:build !linux && !windows && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package selfcompile

// terminal reports whether fd is a terminal: on this platform the
// progress is always written as plain lines.
func terminal(uintptr) bool { return false }
