package smoke

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// watch finds what a run left running once its process group was killed:
// the processes whose environment still holds the run's tag, which a
// daemon in a session of its own keeps unless it clears its environment,
// and, when this process is a child subreaper (the helper makes itself
// one), the processes that became its children during the run: the
// binary's orphans, reparented here when their parent exited, whatever
// their environment and session. The children this process had when the
// run began are not the run's, and are left alone.
type watch struct {
	subreaper bool
	before    map[int]uint64 // pid → start time, telling a reused pid apart
}

// startWatch is called before the run's binary starts.
func startWatch() *watch {
	w := &watch{subreaper: isSubreaper()}
	if w.subreaper {
		w.before = map[int]uint64{}
		self := os.Getpid()
		for _, p := range processes() {
			if p.ppid == self {
				w.before[p.pid] = p.start
			}
		}
	}
	return w
}

// isSubreaper reports whether orphaned descendants of this process are
// reparented to it (PR_GET_CHILD_SUBREAPER; package syscall names no
// constant for it).
func isSubreaper() bool {
	const prGetChildSubreaper = 37
	var v int32
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetChildSubreaper, uintptr(unsafe.Pointer(&v)), 0)
	return errno == 0 && v != 0
}

// adopted reports whether p is a child of this process that the run left:
// one it did not have when the run began. The run's binary itself was
// waited for, and is gone.
func (w *watch) adopted(p process) bool {
	if !w.subreaper || p.ppid != os.Getpid() {
		return false
	}
	start, ok := w.before[p.pid]
	return !ok || start != p.start
}

// killLeft kills what the run left running: the processes with tag
// (KEY=VALUE) in their environment, and the adopted ones (see watch). It
// reaps the adopted ones, and returns how many it killed outside group,
// the run's process group, which was killed already.
func (w *watch) killLeft(tag string, group int) int {
	want := []byte(tag + "\x00")
	killed := map[int]bool{} // outside group
	reap := map[int]bool{}
	for range 20 { // a forking process may start another meanwhile
		found := false
		for _, p := range processes() {
			adopted := w.adopted(p)
			if p.state == 'Z' || p.state == 'X' {
				// Dead: a killed group member, or one killed below.
				if adopted {
					reap[p.pid] = true
				}
				continue
			}
			if !adopted && (tag == "" || !hasEnv(p.pid, want)) {
				continue
			}
			if syscall.Kill(p.pid, syscall.SIGKILL) != nil {
				continue
			}
			found = true
			if adopted {
				reap[p.pid] = true
			}
			if p.pgrp != group {
				killed[p.pid] = true
			}
		}
		if !found {
			break
		}
		// Its children, reparented here as it dies, are found next.
		time.Sleep(10 * time.Millisecond)
	}
	reapAll(reap)
	return len(killed)
}

// reapAll waits for the children pids, killed, to be gone: each is
// waited for by pid, so no other child's exit status is taken. One that
// does not die within a second is left.
func reapAll(pids map[int]bool) {
	deadline := time.Now().Add(time.Second)
	for pid := range pids {
		for {
			var ws syscall.WaitStatus
			got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			if got == pid || (err != nil && err != syscall.EINTR) || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// process is what /proc/PID/stat says of a process.
type process struct {
	pid, ppid, pgrp int
	state           byte
	start           uint64 // clock ticks after boot
}

// processes lists every process but this one.
func processes() []process {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	self := os.Getpid()
	var ps []process
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == self {
			continue
		}
		if p, ok := readStat(pid); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// readStat parses /proc/PID/stat: the command name, in parentheses, may
// hold spaces and parentheses, so the fields are counted after its last
// ")" (proc(5): state is field 3, ppid 4, pgrp 5, starttime 22).
func readStat(pid int) (process, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return process{}, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return process{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return process{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return process{}, false
	}
	return process{pid: pid, ppid: ppid, pgrp: pgrp, state: f[0][0], start: start}, true
}

// hasEnv reports whether pid's environment holds the entry want
// (KEY=VALUE followed by its NUL).
func hasEnv(pid int, want []byte) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return bytes.HasPrefix(env, want) || bytes.Contains(env, append([]byte{0}, want...))
}
