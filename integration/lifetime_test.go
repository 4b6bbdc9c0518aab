//go:build e2e && linux

package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRebuildDiesWithTheHost kills the host while its rebuild compiles
// (kill -9, and SIGINT to the command set of plugincmd, which handles it):
// within two seconds no process the rebuild started is left. This test
// process is the child subreaper of what it starts, so that a process
// orphaned by the host's death is reparented to it and found. The next
// rebuild after a kill -9 says it removed the work directory left
// behind; after SIGINT the command says it was interrupted and exits 130.
func TestRebuildDiesWithTheHost(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skip("cannot become a child subreaper: ", err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			bin := install(t, exampleBinary(t))
			dir := filepath.Dir(bin)
			// A fresh cache: the standard library compiles, for long
			// enough to kill the host in the middle.
			cache := t.TempDir()
			cmd := exec.Command(bin, "plugins", "add", "example.com/aplugin@v1.2.0")
			cmd.Dir, cmd.Env = dir, env("XDG_CACHE_HOME="+cache)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			under := waitForCompile(t, cmd.Process.Pid)
			t.Logf("%d processes under the host, compiling: %v", len(under), under)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			t.Logf("host: %v\n%s", err, out.String())
			left := waitGone(under, 2*time.Second)
			if len(left) > 0 {
				t.Errorf("2s after %v of the host, still running: %v", sig, left)
			}
			if sig == syscall.SIGINT {
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 130 {
					t.Errorf("exit %v, want code 130", err)
				}
				mustContain(t, out.String(), "plugins: interrupted; nothing changed")
				mustNotContain(t, out.String(), "context canceled")
				return
			}
			// The next rebuild (refused in modgen: enough to have
			// prepared its work directory) removes the one left.
			out2 := run(t, false, dir, env("XDG_CACHE_HOME="+cache), bin, "plugins", "add", "example.com/nosuchplugin@v1.0.0")
			mustContain(t, out2, "warning: removed "+filepath.Join(cache, "go-selfcompile", "work"), "left by a rebuild that did not finish")
		})
	}
}

// waitForCompile waits until the compiler compiles package runtime under
// the process pid, and returns every process under it then. That compile
// takes seconds on its own: what the host's death does not stop is still
// running when the test looks.
func waitForCompile(t *testing.T, pid int) []proc {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		under := descendants(pid)
		for _, p := range under {
			if p.comm == "compile" && compiles(p.pid, "runtime") {
				return under
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no compile of package runtime under %d after 3 minutes", pid)
	return nil
}

// compiles reports whether the compiler of process pid compiles pkg.
func compiles(pid int, pkg string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(string(data), "\x00")
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-p" && args[i+1] == pkg {
			return true
		}
	}
	return false
}

// waitGone waits up to d for the processes to end (a zombie has ended)
// and returns those still running.
func waitGone(ps []proc, d time.Duration) []proc {
	deadline := time.Now().Add(d)
	for {
		var left []proc
		for _, p := range ps {
			if running(p.pid) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proc is a process as /proc shows it.
type proc struct {
	pid, ppid int
	comm      string
}

func (p proc) String() string { return strconv.Itoa(p.pid) + " " + p.comm }

// descendants lists the processes under pid.
func descendants(pid int) []proc {
	all := procs()
	var out []proc
	parents := map[int]bool{pid: true}
	for grew := true; grew; {
		grew = false
		for _, p := range all {
			if parents[p.ppid] && !parents[p.pid] {
				parents[p.pid], grew = true, true
				out = append(out, p)
			}
		}
	}
	return out
}

func procs() []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readStat(pid); ok && p.state != 'Z' {
			out = append(out, p.proc)
		}
	}
	return out
}

type stat struct {
	proc
	state byte
}

// readStat parses /proc/PID/stat: "pid (comm) state ppid ...".
func readStat(pid int) (stat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return stat{}, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 {
		return stat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return stat{proc: proc{pid: pid, ppid: ppid, comm: s[open+1 : end]}, state: f[0][0]}, true
}

func running(pid int) bool {
	st, ok := readStat(pid)
	return ok && st.state != 'Z'
}
