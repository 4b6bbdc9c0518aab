//go:build unix

package swap

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRecoverRemovesOnlyLeftovers: staged files, unfinished backups and a
// lock file nobody holds are removed and reported; backups and files that
// only look like ours stay.
func TestRecoverRemovesOnlyLeftovers(t *testing.T) {
	f := newFixture(t)
	leftovers := []string{".host.selfcompile-new-123", ".host.selfcompile-new-", "host" + BackupSuffix + ".tmp-42", ".host.selfcompile.lock"}
	for _, name := range leftovers {
		writeFile(t, filepath.Join(f.dir, name), []byte("partial"), 0o600)
	}
	rep, err := Recover(f.target)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, name := range leftovers {
		want = append(want, filepath.Join(f.dir, name))
	}
	slices.Sort(want)
	slices.Sort(rep.Removed)
	if !slices.Equal(rep.Removed, want) || rep.Restored != "" {
		t.Errorf("report %+v, want removed %v", rep, want)
	}
	f.keep = 5
	f.check(t, "v3")
	if got := f.backupLabels(t); !slices.Equal(got, []string{"v2", "v1", "v0", "vx"}) {
		t.Errorf("backups %v", got)
	}
}

// TestRecoverHoldingLock: called by the lock holder, Recover cleans up
// and leaves the holder's lock file alone.
func TestRecoverHoldingLock(t *testing.T) {
	f := newFixture(t)
	unlock, err := Lock(t.Context(), f.target, false)
	if err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(f.dir, ".host.selfcompile-new-1")
	writeFile(t, staged, []byte("partial"), 0o600)
	rep, err := Recover(f.target)
	if err != nil || !slices.Equal(rep.Removed, []string{staged}) {
		t.Fatalf("Recover: %+v, %v", rep, err)
	}
	if _, err := os.Lstat(LockPath(f.target)); err != nil {
		t.Errorf("the holder's lock file: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	f.check(t, "v3")
}

// TestRecoverRestoresMissingTarget: a missing target comes back from the
// newest backup, mode and all, and runs.
func TestRecoverRestoresMissingTarget(t *testing.T) {
	f := newFixture(t)
	if err := os.Remove(f.target); err != nil {
		t.Fatal(err)
	}
	rep, err := Recover(f.target)
	if err != nil || rep.Restored != f.target+BackupSuffix {
		t.Fatalf("Recover: %+v, %v", rep, err)
	}
	f.check(t, "v2")
	if got := f.backupLabels(t); !slices.Equal(got, []string{"v1", "v0", "vx"}) {
		t.Errorf("backups %v", got)
	}
}

// TestRollback swaps the newest backup and the target; a second Rollback
// undoes the first.
func TestRollback(t *testing.T) {
	f := newFixture(t)
	for _, want := range [][]string{{"v2", "v3", "v1"}, {"v3", "v2", "v1"}} {
		if err := Rollback(f.target); err != nil {
			t.Fatal(err)
		}
		f.check(t, want[0])
		if got := f.backupLabels(t); !slices.Equal(got[:2], want[1:]) {
			t.Errorf("backups %v, want %v first", got, want[1:])
		}
	}
	// With a link-less file system, and a gap at the newest backup.
	if err := os.Remove(f.target + BackupSuffix); err != nil {
		t.Fatal(err)
	}
	if err := rollback(noLinkFS{OS{}}, f.target); err != nil {
		t.Fatal(err)
	}
	f.check(t, "v1")
	if got := f.backupLabels(t); !slices.Equal(got, []string{"v3", "v0", "vx"}) {
		t.Errorf("backups %v", got)
	}
}

// TestRollbackNoBackup: nothing to roll back to is an error, and the
// target is left alone.
func TestRollbackNoBackup(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "host")
	writeFile(t, target, fakeBinary("v0"), 0o755)
	if err := Rollback(target); !errors.Is(err, ErrNoBackup) {
		t.Fatalf("Rollback: %v, want ErrNoBackup", err)
	}
	if got, err := runLabel(target); got != "v0" || err != nil {
		t.Errorf("target: %q, %v", got, err)
	}
}

// TestBackupIndex pins which names are backups.
func TestBackupIndex(t *testing.T) {
	for name, want := range map[string]int{
		"host.selfcompile-backup":       1,
		"host.selfcompile-backup.2":     2,
		"host.selfcompile-backup.17":    17,
		"host.selfcompile-backup.1":     0,
		"host.selfcompile-backup.02":    0,
		"host.selfcompile-backup.":      0,
		"host.selfcompile-backup.tmp-1": 0,
		"host.selfcompile-backupx":      0,
		"xhost.selfcompile-backup":      0,
	} {
		n, ok := backupIndex("host", name)
		if ok != (want > 0) || ok && n != want {
			t.Errorf("backupIndex(%q) = %d, %v; want %d", name, n, ok, want)
		}
	}
}
