//go:build unix

package gocmd

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// lockedBuffer is written by the command while the test reads it.
type lockedBuffer struct {
	ch chan string
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.ch <- string(p)
	return len(p), nil
}

func TestCancelStopsTheWholeProcessGroup(t *testing.T) {
	sh := testkit.NeedCommand(t, "sh")
	// A shell stands in for the go command: it starts a grandchild, as go
	// starts compilers, that a kill of the child alone would leave running.
	r := &Runner{GoBin: sh}
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{ch: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, Invocation{Verb: "-c", Args: []string{"sleep 300 & echo $!; wait"}, Stdout: out})
		done <- err
	}()
	pid, err := strconv.Atoi(strings.TrimSpace(<-out.ch))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	// The grandchild is reparented and reaped by init; give that a moment.
	for i := 0; i < 100; i++ {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("grandchild %d still running after cancel", pid)
}
