//go:build unix

package proc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

func isolate(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

func interrupt(cmd *exec.Cmd) error { return signalGroup(cmd, syscall.SIGINT) }

func kill(cmd *exec.Cmd) error { return signalGroup(cmd, syscall.SIGKILL) }

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

func yield(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = unix.Setpriority(unix.PRIO_PGRP, cmd.Process.Pid, yieldNice)
	}
}

// yieldNice is the niceness Yield gives: a tenth or so of the processor
// share of the default's when both run.
const yieldNice = 10
