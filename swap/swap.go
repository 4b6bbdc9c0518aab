// Package swap owns the moment a rebuilt binary takes the place of the
// running one, and what makes that moment safe:
//
//   - the target: [ResolveTarget] finds the real file once,
//     [CheckRunning] checks that it is the file this process runs, [Check]
//     that it could be replaced, and [Identify] records what it is, for
//     Install to refuse a target someone else changed meanwhile;
//   - the lock: [Lock] holds an exclusive lock on a sidecar file beside the
//     target, across processes, for the whole rebuild;
//   - the swap: [Install] checks the target and the free space, stages the
//     new binary beside the target under a unique name (O_EXCL) with the
//     target's permissions (never its set-id bits) and owner, fsynced;
//     keeps the old binary as a backup (a hard link, or a copy where
//     links are impossible); renames the new file over the target; and
//     fsyncs the directory;
//   - backups: [Backups] lists them, [Rollback] swaps the newest one back;
//   - recovery: [Recover] removes what an interrupted run left beside the
//     target and restores a missing target from its newest backup.
//
// On unix the target path names a complete binary at every moment, even
// if the process dies at any step: the old one until the final rename, the
// new one after it. On Windows a running executable cannot be renamed
// over, so it is moved aside to the backup name and the new one moved in;
// the path is empty between those two moves, and [Recover] moves the backup
// back if a crash fell in between.
//
// For a target DIR/NAME, this package creates only these names in DIR,
// and [Recover] touches nothing else:
//
//	.NAME.selfcompile-new-*            a staged new binary
//	NAME.selfcompile-backup            the newest backup
//	NAME.selfcompile-backup.2, .3, …   older backups
//	NAME.selfcompile-backup.tmp-*      a backup being made
//	.NAME.selfcompile.lock             the lock, present while held
//
// Every change to the file system goes through an [FS], so that tests can
// fail or crash the swap at any single step.
package swap

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
)

// BackupSuffix is appended to the target's name for its newest backup;
// older backups add ".2", ".3", and so on.
const BackupSuffix = ".selfcompile-backup"

// Options configures Install. The zero value keeps one backup, gives a new
// target mode 0755 and changes the real file system. Install does not
// modify it.
type Options struct {
	// Backups is how many previous binaries to keep beside the target.
	// Zero means 1; a negative number means none, and then existing
	// backups are left as they are.
	Backups int
	// Mode is the mode of a target that does not exist yet; zero means
	// 0755. An existing target's permissions are kept exactly, and its
	// set-id and sticky bits dropped.
	Mode fs.FileMode
	// Expect, when set, is the target's identity when the rebuild began
	// (Identify): Install refuses, with ErrChanged and before changing
	// anything, a target that is no longer that file. Nil checks nothing.
	Expect *Identity
	// FS makes every change to the file system; nil means OS{}.
	FS FS
}

func (o Options) backups() int {
	if o.Backups == 0 {
		return 1
	}
	return max(o.Backups, 0)
}

func (o Options) mode() fs.FileMode {
	if o.Mode == 0 {
		return 0o755
	}
	return o.Mode
}

func (o Options) fs() FS {
	if o.FS == nil {
		return OS{}
	}
	return o.FS
}

// Install puts a copy of src in place of target and returns the path of
// the newest backup ("" when none was kept). Before changing anything it
// refuses, with a *RefusedError, a target that is not a regular file or
// belongs to another user, and a directory that is read-only or lacks the
// space; once the copy is staged, a target that is not the file
// opts.Expect identifies. Then it stages the copy beside target, keeps
// opts.Backups previous binaries, and renames the copy over target. On failure it removes what
// it staged, and target holds the old binary, except when the final
// rename reported an error after happening. While it writes a file, forks
// of this process wait (go.dev/issue/22315). Call it holding Lock.
func Install(target, src string, opts Options) (backup string, err error) {
	fsys := opts.fs()
	staged, err := stage(fsys, target, src, opts.mode(), os.Geteuid())
	if err != nil {
		return "", err
	}
	if err := checkUnchanged(target, opts.Expect); err != nil {
		_ = fsys.Remove(staged)
		return "", err
	}
	backup, err = commit(fsys, target, staged, opts.backups())
	if err != nil {
		// Gone already if the final rename happened.
		_ = ignoreNotExist(fsys.Remove(staged))
	}
	return backup, err
}

// fileMeta is what a staged file or a backup copy takes from the target.
type fileMeta struct {
	mode     fs.FileMode
	uid, gid int
	hasOwner bool
}

// keptModeBits are the mode bits a new binary takes from the old one: the
// permissions, never the set-id bits. A rebuilt binary holds code its
// owner did not review (plugins, their dependencies), built from caches
// of the user who asked: that must not run with another user's ids.
const keptModeBits = fs.ModePerm

func metaOf(fi fs.FileInfo) fileMeta {
	m := fileMeta{mode: fi.Mode() & keptModeBits}
	m.uid, m.gid, m.hasOwner = owner(fi)
	return m
}

// stage checks target as Install does and copies src into a new,
// uniquely named file beside it with the target's permissions (not its
// set-id bits) and owner (or mode, when target does not exist), fsynced.
// It returns the staged file's path; the caller removes it if the swap
// does not happen.
func stage(fsys FS, target, src string, mode fs.FileMode, euid int) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", err
	}
	meta, err := preflight(fsys, target, fi.Size(), mode, euid)
	if err != nil {
		return "", err
	}
	return writeBeside(fsys, target, stagedPattern(target), in, fi.Size(), meta)
}

// preflight makes the checks that refuse a swap before anything changes,
// and returns the mode and owner the new file takes.
func preflight(fsys FS, target string, size int64, mode fs.FileMode, euid int) (fileMeta, error) {
	meta := fileMeta{mode: mode}
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return meta, err
	case !fi.Mode().IsRegular():
		return meta, notRegular(target, fi.Mode())
	default:
		if err := checkOwner(target, fi, euid); err != nil {
			return meta, err
		}
		meta = metaOf(fi)
	}
	return meta, checkSpace(fsys, filepath.Dir(target), size)
}

// checkSpace refuses when dir has less than need bytes free. Not knowing
// the free space is no reason to refuse: a full disk is still caught when
// the file is written.
func checkSpace(fsys FS, dir string, need int64) error {
	have, err := fsys.FreeSpace(dir)
	if err == nil && uint64(need) > have {
		return noSpace(dir, need, have)
	}
	return nil
}

// writeBeside writes r into a new file named from pattern in target's
// directory, with meta, fsynced and closed. It returns the file's path.
//
// It holds syscall.ForkLock for reading while the file is open, as the
// lock's contract asks of descriptors a child must not inherit: a child
// forked meanwhile would keep the descriptor open for writing until its
// exec closes it, and exec'ing the target in that window fails with "text
// file busy" (go.dev/issue/22315). Waiting for forks to finish after the
// close is not enough: Linux wakes a vfork parent before the child closes
// its close-on-exec descriptors. So forks of this process wait while a
// file is written.
func writeBeside(fsys FS, target, pattern string, r io.Reader, size int64, meta fileMeta) (string, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	dir := filepath.Dir(target)
	f, err := fsys.CreateTemp(dir, pattern)
	if err != nil {
		if isReadOnly(err) {
			return "", readOnly(dir, err)
		}
		return "", fmt.Errorf("creating a file beside %s: %w", target, err)
	}
	name := f.Name()
	err = fill(f, r, meta)
	err = errors.Join(err, f.Close())
	if err == nil {
		return name, nil
	}
	_ = fsys.Remove(name)
	if isNoSpace(err) {
		return "", diskFull(dir, size, err)
	}
	return "", fmt.Errorf("writing %s: %w", name, err)
}

// fill writes the contents, then the owner, then the mode (chown clears
// the set-id bits), then flushes.
func fill(f File, r io.Reader, meta fileMeta) error {
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	if meta.hasOwner {
		// Only root may give a file away; a user may not even keep a
		// group they are not in. The refusals came before, so EPERM
		// here leaves the file with this process's owner and group.
		if err := f.Chown(meta.uid, meta.gid); err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
	}
	// Chmod is not subject to the umask, unlike the mode given to open.
	if err := f.Chmod(meta.mode); err != nil {
		return err
	}
	return f.Sync()
}

// commit puts staged in place of target, keeping keep backups.
func commit(fsys FS, target, staged string, keep int) (backup string, err error) {
	if _, err := os.Lstat(target); keep == 0 || errors.Is(err, fs.ErrNotExist) {
		return "", moveIn(fsys, staged, target)
	}
	makeRoom := func() error {
		if err := rotate(fsys, target, keep); err != nil {
			return fmt.Errorf("rotating the backups of %s: %w", target, err)
		}
		return nil
	}
	backup = backupPath(target, 1)
	if err := replaceKeeping(fsys, target, staged, backup, makeRoom); err != nil {
		return "", err
	}
	return backup, nil
}

// rotate makes room for a new newest backup: it removes backups numbered
// above keep and renames each other one to the next number, oldest first,
// each rename replacing the name it moves to. The newest backup stays
// when keep is 1: the new one replaces it.
func rotate(fsys FS, target string, keep int) error {
	idx, err := backupIndexes(target)
	if err != nil {
		return err
	}
	for i := len(idx) - 1; i >= 0; i-- {
		n := idx[i]
		switch {
		case n > keep:
			err = ignoreNotExist(fsys.Remove(backupPath(target, n)))
		case n < keep:
			err = fsys.Rename(backupPath(target, n), backupPath(target, n+1))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// keepCopy makes a new name for the file at target, beside keep, and
// returns it: a hard link where possible, else a complete copy with the
// same mode and owner.
func keepCopy(fsys FS, target, keep string) (string, error) {
	for range 100 {
		tmp := fmt.Sprintf("%s.tmp-%d", keep, rand.Uint32())
		err := fsys.Link(target, tmp)
		if err == nil {
			return tmp, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			// No hard links on this file system (or not allowed to
			// this user): copy.
			return copyBeside(fsys, target, keep)
		}
	}
	return copyBeside(fsys, target, keep)
}

func copyBeside(fsys FS, target, keep string) (string, error) {
	in, err := os.Open(target)
	if err != nil {
		return "", err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return "", err
	}
	return writeBeside(fsys, target, filepath.Base(keep)+".tmp-*", in, fi.Size(), metaOf(fi))
}

// syncDir makes the renames in dir durable. Its error is not returned:
// the renames are already visible, and a directory that cannot be synced
// (some file systems do not support it) only weakens durability across a
// power loss, which neither the caller nor a rollback could repair.
func syncDir(fsys FS, dir string) {
	_ = fsys.SyncDir(dir)
}

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Names of the files beside a target.

func stagedPattern(target string) string {
	return "." + filepath.Base(target) + ".selfcompile-new-*"
}

// backupPath is the n-th newest backup of target, counting from 1.
func backupPath(target string, n int) string {
	if n == 1 {
		return target + BackupSuffix
	}
	return fmt.Sprintf("%s%s.%d", target, BackupSuffix, n)
}
