//go:build unix

package verify

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup starts the binary in a process group of its own, so
// that what a plugin's init starts can be killed with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills the binary's process group: the binary and any
// process it started that did not leave the group. A group that is
// already gone is not an error.
func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
