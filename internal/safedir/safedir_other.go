//go:build !unix

package safedir

import "io/fs"

func owned(string, fs.FileInfo) error { return nil }

func checkAbove(string, string) error { return nil }
