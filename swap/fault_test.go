//go:build unix

package swap

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// faultModes are the ways a step fails: before or after doing its work,
// with backups made by hard link or, on a file system without links, by
// copy (more steps).
var faultModes = []struct {
	name          string
	noLink, after bool
}{
	{"link/before", false, false},
	{"link/after", false, true},
	{"copy/before", true, false},
	{"copy/after", true, true},
}

// TestFaultInjection fails every file-system step of a full Install (free
// space check, staging, backup rotation, backup, rename, directory sync) in
// turn, until a run makes fewer steps than the failpoint. After each
// failure it runs Recover and checks the invariant: the target is the
// complete old or new binary and runs, no stray files, the unrelated files
// untouched; and that a following Install works.
func TestFaultInjection(t *testing.T) {
	injected := 0
	for _, mode := range faultModes {
		t.Run(mode.name, func(t *testing.T) {
			for n := 1; ; n++ {
				f := newFixture(t)
				ffs := &faultFS{FS: baseFS(mode.noLink), at: n, after: mode.after}
				_, err := Install(f.target, f.src, Options{Backups: f.keep, FS: ffs})
				if ffs.hit == "" {
					if err != nil {
						t.Fatalf("run without failure: %v", err)
					}
					f.check(t, "v4")
					if got, want := f.backupLabels(t), []string{"v3", "v2", "v1"}; !slices.Equal(got, want) {
						t.Fatalf("backups %v, want %v", got, want)
					}
					t.Logf("%s: %d steps", mode.name, n-1)
					return
				}
				injected++
				afterFailure(t, f, ffs.hit, err, mode.after)
			}
		})
	}
	t.Logf("fault injection: %d failing steps injected, the invariant held after each", injected)
}

// afterFailure runs Recover after a failed Install and checks the
// invariant and that the next Install succeeds.
func afterFailure(t *testing.T, f *fixture, hit string, err error, after bool) {
	t.Helper()
	want := []string{"v3", "v4"}
	switch {
	case err == nil:
		want = []string{"v4"} // the failure came after the swap, and did not matter
	case !after:
		want = []string{"v3"} // a failed step that did nothing leaves the old binary
	}
	if _, rerr := Recover(f.target); rerr != nil {
		t.Fatalf("step %s: Recover: %v", hit, rerr)
	}
	t.Run(strings.ReplaceAll(hit, " ", "_"), func(t *testing.T) { f.check(t, want...) })
	next := filepath.Join(t.TempDir(), "v5")
	f.labels[string(fakeBinary("v5"))] = "v5"
	writeFile(t, next, fakeBinary("v5"), 0o700)
	if _, err := Install(f.target, next, Options{Backups: f.keep}); err != nil {
		t.Fatalf("step %s: Install after recovery: %v", hit, err)
	}
	f.check(t, "v5")
}

// TestCrashRecovery kills a process doing a full rebuild swap with SIGKILL
// at each file-system step in turn (the helper kills itself at the
// failpoint), then runs Recover in this process and checks the invariant.
// The dead helper held the lock: Recover must find and remove it.
func TestCrashRecovery(t *testing.T) {
	kills := 0
	for _, noLink := range []bool{false, true} {
		name := map[bool]string{false: "link", true: "copy"}[noLink]
		t.Run(name, func(t *testing.T) {
			for n := 1; ; n++ {
				f := newFixture(t)
				cmd := helperCmd(t, "crash", envFailpoint+"="+strconv.Itoa(n),
					envTarget+"="+f.target, envSrc+"="+f.src, envNoLink+"="+map[bool]string{true: "1"}[noLink])
				out, err := cmd.CombinedOutput()
				if err == nil {
					if !strings.Contains(string(out), "completed") {
						t.Fatalf("helper exited without completing: %s", out)
					}
					f.check(t, "v4")
					t.Logf("%s: killed at each of %d steps", name, n-1)
					return
				}
				var ee *exec.ExitError
				if !errors.As(err, &ee) || !killed(ee) {
					t.Fatalf("step %d: helper did not die by SIGKILL: %v\n%s", n, err, out)
				}
				kills++
				rep, err := Recover(f.target)
				if err != nil {
					t.Fatalf("step %d: Recover: %v", n, err)
				}
				if !slices.Contains(rep.Removed, LockPath(f.target)) {
					t.Errorf("step %d: Recover did not report the dead helper's lock: %v", n, rep.Removed)
				}
				t.Run(strconv.Itoa(n), func(t *testing.T) { f.check(t, "v3", "v4") })
			}
		})
	}
	t.Logf("crash test: %d kills survived", kills)
}

func killed(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// TestUmask replaces a target in processes whose umask is 077 and 027:
// the target and its backup (made by copy) keep mode 0751 exactly, and a
// new target gets exactly 0755.
func TestUmask(t *testing.T) {
	for _, mask := range []string{"077", "027"} {
		t.Run(mask, func(t *testing.T) {
			f := newFixture(t)
			f.keep = 1
			newTarget := filepath.Join(f.dir, "fresh")
			out, err := helperCmd(t, "umask", envUmask+"="+mask, envTarget+"="+f.target,
				envSrc+"="+f.src, envNewTarget+"="+newTarget).CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			for name, want := range map[string]os.FileMode{f.target: fixtureMode, f.target + BackupSuffix: fixtureMode, newTarget: 0o755} {
				fi, err := os.Stat(name)
				if err != nil || fi.Mode() != want {
					t.Errorf("%s: mode %v (%v), want %v", name, fi.Mode(), err, want)
				}
			}
			f.others["fresh"] = fakeBinary("v4")
			f.check(t, "v4")
			if got := f.backupLabels(t); !slices.Equal(got, []string{"v3"}) {
				t.Errorf("backups %v, want [v3]", got)
			}
		})
	}
}
