package smoke

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// killTagged kills every process whose environment holds the variable
// tag (KEY=VALUE), which the processes a smoke run starts inherit, and
// returns how many it killed. A daemon that left the process group (a
// new session, setsid) is found this way too. Those that became this
// process's children (it is a child subreaper, see proc.Subreaper) are
// reaped.
func killTagged(tag string) int {
	killed := map[int]bool{}
	for range 20 { // a forking process may start another meanwhile
		pids := tagged(tag)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed[pid] = true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	for pid := range killed {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
	return len(killed)
}

// tagged lists the processes, other than this one, whose environment
// holds tag. A zombie's environment reads empty, so a killed process is
// not listed again.
func tagged(tag string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	want := []byte(tag + "\x00")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue
		}
		if bytes.HasPrefix(env, want) || bytes.Contains(env, append([]byte{0}, want...)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
