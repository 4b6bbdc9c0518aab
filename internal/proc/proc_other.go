//go:build !unix

package proc

import "os/exec"

func isolate(*exec.Cmd) {}

func interrupt(cmd *exec.Cmd) error { return kill(cmd) }

func kill(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
