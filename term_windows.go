package selfcompile

import "golang.org/x/sys/windows"

// terminal reports whether fd is a console.
func terminal(fd uintptr) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(fd), &mode) == nil
}
