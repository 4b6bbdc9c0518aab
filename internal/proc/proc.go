// Package proc owns what go-selfcompile does to the processes it starts:
// each runs in a process group of its own (on unix), so that stopping it
// also stops what it started — the compilers of a go command, a process a
// plugin's init left behind — and, on Linux, is sent SIGTERM when the
// process that started it dies, so that nothing outlives a host that was
// killed. It is the one place that signals groups.
package proc

import (
	"os/exec"
	"sync"
	"time"
)

// Setup prepares cmd, made with exec.CommandContext, the way every child
// of go-selfcompile runs: in a process group of its own ([Isolate]); when
// the context ends, stop is called on it — [Interrupt] for a program that
// cleans up (the go command removes its temporary files), [Kill] for one
// that need not — and grace later the leader is killed and its pipes are
// closed (exec.Cmd.WaitDelay). Once cmd's Wait returns, call [Kill] (or
// use [Run]) so that what it left in its group goes too.
func Setup(cmd *exec.Cmd, stop func(*exec.Cmd) error, grace time.Duration) {
	Isolate(cmd)
	cmd.Cancel = func() error { return stop(cmd) }
	cmd.WaitDelay = grace
}

// Run runs cmd, set up with [Setup], and kills what it left in its group.
func Run(cmd *exec.Cmd) error {
	err := cmd.Run()
	_ = Kill(cmd)
	return err
}

// Isolate makes cmd start in a process group of its own, ended with its
// parent where the system can (on Linux, the parent-death signal,
// SIGTERM). Where there are no process groups it does nothing, and
// exec.Cmd.WaitDelay is what cuts off a process that holds the output
// open. The group is remembered until [Kill] is called for cmd, for
// [KillAll].
func Isolate(cmd *exec.Cmd) {
	isolate(cmd)
	live.Lock()
	defer live.Unlock()
	live.cmds[cmd] = true
}

// Interrupt asks cmd's process group to stop (SIGINT on unix; where there
// are no groups, the process itself is killed). It suits exec.Cmd.Cancel,
// with WaitDelay killing the leader if it does not stop.
func Interrupt(cmd *exec.Cmd) error { return interrupt(cmd) }

// Kill kills cmd's process group: the process and any process it started
// that did not leave the group. A group that is already gone gives
// os.ErrProcessDone. Before the process started it does nothing. The
// group is forgotten: call Kill once cmd's Wait has returned.
func Kill(cmd *exec.Cmd) error {
	live.Lock()
	delete(live.cmds, cmd)
	live.Unlock()
	return kill(cmd)
}

// KillAll kills the group of every command given to [Isolate] that
// started and has not been given to [Kill]: for a process about to exit
// early (its parent went), so that it leaves nothing running. Call it
// only when no command is being started.
func KillAll() {
	live.Lock()
	defer live.Unlock()
	for cmd := range live.cmds {
		_ = kill(cmd)
		delete(live.cmds, cmd)
	}
}

// live holds the commands given to Isolate and not yet to Kill.
var live = struct {
	sync.Mutex
	cmds map[*exec.Cmd]bool
}{cmds: map[*exec.Cmd]bool{}}
