package swap

import (
	"io"
	"io/fs"
	"os"
)

// FS is every change this package makes to the file system, so that tests
// can fail or crash the swap at any single step. Reads (stat, open, read
// a directory) go to the os package directly. OS is the real one.
type FS interface {
	// CreateTemp creates a new file in dir, opened for writing with
	// O_EXCL and mode 0600, named as os.CreateTemp names it from pattern.
	CreateTemp(dir, pattern string) (File, error)
	// Link makes newname a hard link to oldname; it fails if newname exists.
	Link(oldname, newname string) error
	// Rename atomically replaces newpath with oldpath.
	Rename(oldpath, newpath string) error
	// Remove removes the file name.
	Remove(name string) error
	// SyncDir flushes the entries of directory dir to stable storage.
	SyncDir(dir string) error
	// FreeSpace returns the bytes available to this process on the file
	// system of dir, or an error wrapping errors.ErrUnsupported.
	FreeSpace(dir string) (uint64, error)
}

// File is a file made by FS.CreateTemp. *os.File implements it.
type File interface {
	io.Writer
	// Name is the path the file was created at.
	Name() string
	// Chown sets the owner and group.
	Chown(uid, gid int) error
	// Chmod sets the mode exactly; the umask does not apply.
	Chmod(mode fs.FileMode) error
	// Sync flushes the contents to stable storage.
	Sync() error
	// Close closes the file.
	Close() error
}

// OS is the real file system.
type OS struct{}

var _ FS = OS{}

// CreateTemp implements FS with os.CreateTemp.
func (OS) CreateTemp(dir, pattern string) (File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil File
	}
	return f, nil
}

// Link implements FS with os.Link.
func (OS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

// Rename implements FS with os.Rename.
func (OS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Remove implements FS with os.Remove.
func (OS) Remove(name string) error { return os.Remove(name) }
