//go:build !unix

package treeindex

import (
	"fmt"
	"io/fs"
)

// stamp is what changes when a file is written: its modification time.
// (Without a change time to compare, a file written back with its old
// size and modification time goes unnoticed.)
func stamp(p string, fi fs.FileInfo) string {
	return fmt.Sprint(fi.ModTime().UnixNano())
}
