// Package proc owns what go-selfcompile does to the processes it starts:
// each runs in a process group of its own (on unix), so that stopping it
// also stops what it started — the compilers of a go command, a process a
// plugin's init left behind. It is the one place that signals groups.
package proc

import "os/exec"

// Isolate makes cmd start in a process group of its own. Where there are
// no process groups it does nothing, and exec.Cmd.WaitDelay is what cuts
// off a process that holds the output open.
func Isolate(cmd *exec.Cmd) { isolate(cmd) }

// Interrupt asks cmd's process group to stop (SIGINT on unix; where there
// are no groups, the process itself is killed). It suits exec.Cmd.Cancel,
// with WaitDelay killing the leader if it does not stop.
func Interrupt(cmd *exec.Cmd) error { return interrupt(cmd) }

// Kill kills cmd's process group: the process and any process it started
// that did not leave the group. A group that is already gone gives
// os.ErrProcessDone. Before the process started it does nothing.
func Kill(cmd *exec.Cmd) error { return kill(cmd) }
