package generate

import (
	"context"
	"os/exec"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/proc"
)

// gracePeriod is how long an interrupted child has to exit before it is
// killed.
const gracePeriod = 3 * time.Second

// command returns cmd to run name with args as every child of
// go-selfcompile runs (see package proc): in a process group of its own,
// interrupted when ctx is done and killed gracePeriod later. Run it with
// run or output, which kill what it left behind.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	proc.Setup(cmd, proc.Interrupt, gracePeriod)
	return cmd
}

// run runs cmd, made by command, and kills its process group once it has
// exited.
func run(cmd *exec.Cmd) error { return proc.Run(cmd) }

// output is run for cmd's stdout.
func output(cmd *exec.Cmd) ([]byte, error) {
	defer proc.Kill(cmd)
	return cmd.Output()
}
