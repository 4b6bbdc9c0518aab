package smoke

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// checkChildGone checks that the process the forks program started
// ("started PID" in its output) was killed with its process group. A
// zombie counts as gone: its parent exited and PID 1 of a container may
// not reap it.
func checkChildGone(t *testing.T, output string) {
	t.Helper()
	_, rest, ok := strings.Cut(output, "started ")
	var pid int
	if !ok {
		t.Fatal("no pid in the output")
	}
	if _, err := fmt.Sscanf(rest, "%d", &pid); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") || !strings.Contains(string(stat), "(sleep)") {
			return
		}
	}
	t.Errorf("the sleep process %d started by the binary is still running", pid)
}

// A daemon the binary starts in a session of its own outlives the kill
// of the process group; Check finds it by the nonce it inherited, kills
// it and refuses the binary.
func TestSmokeKillsOrphans(t *testing.T) {
	testkit.NeedCommand(t, "setsid")
	refusesOrphan(t, smokeBinary(t, "daemon"))
}

// refusesOrphan smoke-tests bin, which leaves one process running, and
// checks that Check refuses it and that the process is gone; it returns
// the refusal.
func refusesOrphan(t *testing.T, bin string) *Error {
	t.Helper()
	_, err := Check(context.Background(), bin, Config{Env: []string{"PATH=" + os.Getenv("PATH")}})
	var se *Error
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "left 1 process running") {
		t.Errorf("Check: %v, want a refusal of the process left running", err)
	}
	if se == nil {
		t.FailNow()
	}
	checkChildGone(t, se.Output)
	return se
}

// A daemon that also clears its environment (env -i setsid ...) carries
// no tag; in a child subreaper, as the helper is, Check finds it as an
// orphan reparented to this process, kills and reaps it, and refuses the
// binary. A child this process started before the run, as the helper's
// go commands, is left running.
func TestSmokeKillsOrphansWithoutEnvironment(t *testing.T) {
	for _, c := range []string{"env", "setsid", "sleep"} {
		testkit.NeedCommand(t, c)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skip("cannot become a child subreaper: ", err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	mine := exec.Command("sleep", "60")
	if err := mine.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = mine.Process.Kill()
		_ = mine.Wait()
	}()
	se := refusesOrphan(t, smokeBinary(t, "cleared"))
	var pid int
	if _, err := fmt.Sscanf(se.Output[strings.Index(se.Output, "started "):], "started %d", &pid); err != nil {
		t.Fatal(err)
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(stat), ") Z ") {
		t.Errorf("the daemon %d was killed but not reaped: %s", pid, stat)
	}
	if p, ok := readStat(mine.Process.Pid); !ok || p.state == 'Z' {
		t.Errorf("a child started before the run was killed")
	}
}
