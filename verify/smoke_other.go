//go:build !unix

package verify

import "os/exec"

// setProcessGroup does nothing where there are no process groups; a
// process the binary started that holds its output is cut off by
// exec.Cmd.WaitDelay instead.
func setProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the binary itself.
func killProcessGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
