package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// handOver is the plugins command's Config.AfterSwap: it tells the
// server whose pid is in pidFile to start the new binary (SIGHUP), and
// waits until the new process is ready, which it shows by writing its
// own pid there. No server running is not an error: the next start runs
// the new binary.
func handOver(pidFile string, stderr io.Writer) func(context.Context, *selfcompile.Result) error {
	return func(ctx context.Context, res *selfcompile.Result) error {
		old, err := readPID(pidFile)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "webhost plugins: no server to hand over to (no %s); the next serve runs the new binary\n", pidFile)
			return nil
		}
		if err != nil {
			return err
		}
		p, err := os.FindProcess(old)
		if err == nil {
			err = p.Signal(syscall.SIGHUP)
		}
		if errors.Is(err, os.ErrProcessDone) {
			fmt.Fprintf(stderr, "webhost plugins: no server to hand over to (pid %d in %s is gone); the next serve runs the new binary\n", old, pidFile)
			return nil
		}
		if err != nil {
			return fmt.Errorf("signalling server pid %d (from %s): %w", old, pidFile, err)
		}
		pid, err := waitForNewPID(ctx, pidFile, old, upgradeTimeout+15*time.Second)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "webhost plugins: server pid %d handed over to pid %d, running %s\n", old, pid, res.Binary)
		return nil
	}
}

// waitForNewPID waits until pidFile names a process other than old.
func waitForNewPID(ctx context.Context, pidFile string, old int, limit time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if pid, err := readPID(pidFile); err == nil && pid != old {
			return pid, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("server pid %d did not hand over within %v (its log says why) and still runs the previous binary; send it SIGHUP to try again", old, limit)
		case <-tick.C:
		}
	}
}
