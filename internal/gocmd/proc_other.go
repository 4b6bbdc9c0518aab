//go:build !unix

package gocmd

import (
	"os"
	"os/exec"
)

func setProcessGroup(*exec.Cmd) {}

func interruptGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Signal(os.Kill)
}

func killGroup(*exec.Cmd) {}
