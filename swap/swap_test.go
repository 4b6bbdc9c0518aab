//go:build unix

package swap

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestInstallRotatesBackups installs versions one after another: the
// backups are the previous versions, newest first, at most Options.Backups
// of them; fewer kept backups drop the oldest; none leaves them alone.
func TestInstallRotatesBackups(t *testing.T) {
	f := newFixture(t)
	for _, step := range []struct {
		label string
		keep  int
		want  []string
	}{
		{"v4", 3, []string{"v3", "v2", "v1"}},
		{"v5", 3, []string{"v4", "v3", "v2"}},
		{"v6", 2, []string{"v5", "v4"}},
		{"v7", 0, []string{"v6"}}, // the default keeps one
		{"v8", -1, []string{"v6"}},
	} {
		src := filepath.Join(t.TempDir(), step.label)
		writeFile(t, src, fakeBinary(step.label), 0o644)
		f.labels[string(fakeBinary(step.label))] = step.label
		backup, err := Install(f.target, src, Options{Backups: step.keep})
		if err != nil {
			t.Fatal(err)
		}
		if (backup == "") != (step.keep < 0) || backup != "" && backup != f.target+BackupSuffix {
			t.Errorf("%s: backup %q", step.label, backup)
		}
		f.check(t, step.label)
		if got := f.backupLabels(t); !slices.Equal(got, step.want) {
			t.Errorf("after %s (keep %d): backups %v, want %v", step.label, step.keep, got, step.want)
		}
	}
}

// TestInstallKeepsMode: the new binary takes the old one's permissions
// exactly, but never its set-id or sticky bits; a new target takes
// Options.Mode.
func TestInstallKeepsMode(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, fakeBinary("new"), 0o600)
	for _, mode := range []fs.FileMode{0o755, 0o751, 0o700, 0o555, 0o750 | fs.ModeSetgid, 0o755 | fs.ModeSetuid | fs.ModeSticky} {
		target := filepath.Join(dir, fmt.Sprintf("host-%o", uint32(mode)))
		writeFile(t, target, fakeBinary("old"), 0o755)
		if err := os.Chmod(target, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := Install(target, src, Options{}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(target); err != nil || fi.Mode() != mode.Perm() {
			t.Errorf("old binary %v: new one %v, want %v (%v)", mode, fi.Mode(), mode.Perm(), err)
		}
	}
	fresh := filepath.Join(dir, "fresh")
	if backup, err := Install(fresh, src, Options{Mode: 0o750}); err != nil || backup != "" {
		t.Fatalf("new target: %q, %v", backup, err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode() != 0o750 {
		t.Errorf("new target mode %v, want 0750 (%v)", fi.Mode(), err)
	}
	if got, err := runLabel(fresh); err != nil || got != "new" {
		t.Errorf("running the new target: %q, %v", got, err)
	}
}

// TestInstallKeepsOwner (as root): the new binary and a copied backup
// belong to the old binary's owner and group.
func TestInstallKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file to another user")
	}
	f := newFixture(t)
	if err := os.Chown(f.target, 12345, 23456); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(f.target, f.src, Options{FS: noLinkFS{OS{}}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{f.target, f.target + BackupSuffix} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if uid, gid, _ := owner(fi); uid != 12345 || gid != 23456 {
			t.Errorf("%s: owner %d:%d, want 12345:23456", name, uid, gid)
		}
	}
}

// TestInstallIgnoresChownEPERM: a chown that is not permitted leaves the
// file with this process's owner, and the swap goes on.
func TestInstallIgnoresChownEPERM(t *testing.T) {
	f := newFixture(t)
	ffs := &faultFS{FS: OS{}, err: &fs.PathError{Op: "chown", Path: "x", Err: syscall.EPERM}}
	ffs.at = stepOf(t, "chown")
	if _, err := Install(f.target, f.src, Options{Backups: f.keep, FS: ffs}); err != nil || ffs.hit == "" {
		t.Fatalf("Install: %v (failpoint %q)", err, ffs.hit)
	}
	f.check(t, "v4")
}

// stepOf returns the number of the first step named op in a full Install
// on a fresh fixture.
func stepOf(t *testing.T, op string) int {
	t.Helper()
	f := newFixture(t)
	rec := &faultFS{FS: OS{}}
	if _, err := Install(f.target, f.src, Options{Backups: f.keep, FS: rec}); err != nil {
		t.Fatal(err)
	}
	i := slices.Index(rec.ops, op)
	if i < 0 {
		t.Fatalf("no step %s in %v", op, rec.ops)
	}
	return i + 1
}

// TestInstallSteps pins the order of the steps of a swap with backup
// rotation: the target is renamed over only after the new file is
// complete and the old one is kept.
func TestInstallSteps(t *testing.T) {
	f := newFixture(t)
	rec := &faultFS{FS: OS{}}
	if _, err := Install(f.target, f.src, Options{Backups: f.keep, FS: rec}); err != nil {
		t.Fatal(err)
	}
	want := "statfs create write write chown chmod fsync close " + // stage
		"link " + // a second name for the old binary
		"remove rename rename " + // rotate: drop .5, .2 -> .3, newest -> .2
		"rename rename syncdir" // the old binary becomes the newest backup, swap, sync
	if got := strings.Join(rec.ops, " "); got != want {
		t.Errorf("steps:\n got %s\nwant %s", got, want)
	}
}

// refusalCase checks that err is a one-line *RefusedError for reason that
// says what to do, and that the directory did not change.
func checkRefusal(t *testing.T, err, reason error, dir string, before map[string]string) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, reason) {
		t.Fatalf("got %v, want a refusal for %v", err, reason)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "Options.Output") {
		t.Errorf("message is not one line saying what to do: %q", msg)
	}
	if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("the directory changed:\nbefore %v\nafter  %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
}

// TestRefuseNotRegular: a directory, a symlink or a FIFO at the target
// path is refused by Install and ResolveTarget.
func TestRefuseNotRegular(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "src")
	writeFile(t, src, fakeBinary("new"), 0o755)
	writeFile(t, filepath.Join(dir, "file"), fakeBinary("old"), 0o755)
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := testkit.Snapshot(t, dir)
	for _, name := range []string{"dir", "link", "fifo"} {
		_, err := Install(filepath.Join(dir, name), src, Options{})
		checkRefusal(t, err, ErrNotRegular, dir, before)
	}
	for _, name := range []string{"dir", "fifo"} {
		_, err := ResolveTarget(filepath.Join(dir, name))
		checkRefusal(t, err, ErrNotRegular, dir, before)
	}
	if got, err := ResolveTarget(filepath.Join(dir, "link")); err != nil || got != filepath.Join(dir, "file") {
		t.Errorf("ResolveTarget(link) = %q, %v; want the file", got, err)
	}
}

// TestRefuseOtherOwner: a binary of another user is refused unless this
// process is root. (Checked with an assumed euid: the tests may run as
// root, who is always allowed.)
func TestRefuseOtherOwner(t *testing.T) {
	f := newFixture(t)
	fi, err := os.Stat(f.target)
	if err != nil {
		t.Fatal(err)
	}
	uid, _, _ := owner(fi)
	before := testkit.Snapshot(t, f.dir)
	_, err = stage(OS{}, f.target, f.src, 0o755, uid+1)
	checkRefusal(t, err, ErrNotOwner, f.dir, before)
	for _, euid := range []int{0, uid} {
		staged, err := stage(OS{}, f.target, f.src, 0o755, euid)
		if err != nil {
			t.Fatalf("euid %d: %v", euid, err)
		}
		os.Remove(staged)
	}
}

// failFS fails every call of one operation with err.
type failFS struct {
	FS
	op  string
	err error
}

func (f failFS) CreateTemp(dir, pattern string) (File, error) {
	if f.op == "create" {
		return nil, &fs.PathError{Op: "open", Path: filepath.Join(dir, pattern), Err: f.err}
	}
	file, err := f.FS.CreateTemp(dir, pattern)
	if err != nil || f.op != "write" {
		return file, err
	}
	return failWriter{file, f.err}, nil
}

func (f failFS) FreeSpace(dir string) (uint64, error) {
	if f.op == "statfs" {
		return 100, nil
	}
	return f.FS.FreeSpace(dir)
}

type failWriter struct {
	File
	err error
}

func (w failWriter) Write([]byte) (int, error) {
	return 0, &fs.PathError{Op: "write", Path: w.Name(), Err: w.err}
}

// TestRefuseReadOnlyDir: a directory that cannot be written (read-only
// file system, no permission) is refused, nothing changed.
func TestRefuseReadOnlyDir(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EROFS, syscall.EACCES} {
		f := newFixture(t)
		before := testkit.Snapshot(t, f.dir)
		_, err := Install(f.target, f.src, Options{FS: failFS{OS{}, "create", errno}})
		checkRefusal(t, err, ErrReadOnly, f.dir, before)
		if !errors.Is(err, errno) {
			t.Errorf("%v does not wrap %v", err, errno)
		}
	}
	if os.Geteuid() != 0 { // root writes anyway
		f := newFixture(t)
		if err := os.Chmod(f.dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(f.dir, 0o755)
		before := testkit.Snapshot(t, f.dir)
		_, err := Install(f.target, f.src, Options{})
		checkRefusal(t, err, ErrReadOnly, f.dir, before)
	}
}

// TestRefuseFullDisk: too little free space is refused before writing,
// with the numbers; a write that hits ENOSPC is refused too, and the
// partial file removed.
func TestRefuseFullDisk(t *testing.T) {
	f := newFixture(t)
	before := testkit.Snapshot(t, f.dir)
	_, err := Install(f.target, f.src, Options{FS: failFS{OS{}, "statfs", nil}})
	checkRefusal(t, err, ErrNoSpace, f.dir, before)
	want := "not enough space in " + f.dir + ": need 1 MiB, have 0 MiB; free space or set Options.Output"
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
	_, err = Install(f.target, f.src, Options{FS: failFS{OS{}, "write", syscall.ENOSPC}})
	checkRefusal(t, err, ErrNoSpace, f.dir, before)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("%v does not wrap ENOSPC", err)
	}
	t.Logf("refusal: %v", err)
}

// TestFullDiskKeepsBackups: when the backup must be copied and the copy
// hits a full disk, the refusal comes before the rotation: every backup
// is still there, and nothing else changed.
func TestFullDiskKeepsBackups(t *testing.T) {
	f := newFixture(t)
	before := testkit.Snapshot(t, f.dir)
	ffs := &faultFS{FS: noLinkFS{OS{}}, err: &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}}
	ffs.at = 11 // statfs create write write chown chmod fsync close link create [write]
	_, err := Install(f.target, f.src, Options{Backups: f.keep, FS: ffs})
	if ffs.hit != "11 write" {
		t.Fatalf("failpoint hit %q, want the first write of the backup copy", ffs.hit)
	}
	checkRefusal(t, err, ErrNoSpace, f.dir, before)
}
