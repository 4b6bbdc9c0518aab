package swap

import (
	"errors"
	"fmt"
	"io/fs"
)

// Reasons for a refusal, matched with errors.Is on a *RefusedError.
var (
	// ErrNotRegular: the target is a directory, symlink, device or other
	// non-regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrNotOwner: the target belongs to another user and this process
	// is not root; replacing it would change its owner.
	ErrNotOwner = errors.New("owned by another user")
	// ErrReadOnly: the target's directory cannot be written.
	ErrReadOnly = errors.New("directory not writable")
	// ErrNoSpace: the target's file system has too little free space.
	ErrNoSpace = errors.New("not enough free space")
	// ErrChanged: the target is not the file Options.Expect identifies:
	// someone replaced, changed, deleted or created it meanwhile.
	ErrChanged = errors.New("changed during the rebuild")
)

// ErrNotRunning is returned by CheckRunning when the target is not the
// executable of this process.
var ErrNotRunning = errors.New("not the running executable")

// ErrNoBackup is returned by Rollback when the target has no backup.
var ErrNoBackup = errors.New("no backup to roll back to")

// RefusedError is a swap refused before anything was changed. Its message
// is one line that says what to do. errors.Is matches Reason (one of
// ErrNotRegular, ErrNotOwner, ErrReadOnly, ErrNoSpace, ErrChanged) and
// the underlying system error, if any.
type RefusedError struct {
	Reason error  // why: ErrNotRegular, ErrNotOwner, ErrReadOnly, ErrNoSpace or ErrChanged
	Path   string // the target or its directory
	Err    error  // the system error behind it, if any
	msg    string
}

func (e *RefusedError) Error() string { return e.msg }

// Is reports whether target is the reason of the refusal.
func (e *RefusedError) Is(target error) bool { return target == e.Reason }

// Unwrap returns the system error behind the refusal, if any.
func (e *RefusedError) Unwrap() error { return e.Err }

func refused(reason error, path string, err error, format string, args ...any) *RefusedError {
	return &RefusedError{Reason: reason, Path: path, Err: err, msg: fmt.Sprintf(format, args...)}
}

func notRegular(path string, mode fs.FileMode) error {
	return refused(ErrNotRegular, path, nil,
		"cannot replace %s: it is not a regular file (%v); give the path of a regular file, or set Options.Output", path, mode.Type())
}

func readOnly(dir string, err error) error {
	return refused(ErrReadOnly, dir, err,
		"cannot write in %s (%v); run with permission to write that directory, or set Options.Output", dir, cause(err))
}

const mib = 1 << 20

// noSpace is the refusal of the free-space check: need and have in bytes.
func noSpace(dir string, need int64, have uint64) error {
	return refused(ErrNoSpace, dir, nil,
		"not enough space in %s: need %d MiB, have %d MiB; free space or set Options.Output", dir, (need+mib-1)/mib, have/mib)
}

// diskFull is the refusal of a write that ran out of space.
func diskFull(dir string, need int64, err error) error {
	return refused(ErrNoSpace, dir, err,
		"not enough space in %s: writing %d MiB failed (%v); free space or set Options.Output", dir, (need+mib-1)/mib, cause(err))
}

// cause strips the operation and path from a *fs.PathError, which the
// refusal's own message already names.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
