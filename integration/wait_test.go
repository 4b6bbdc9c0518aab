//go:build e2e

package integration

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWaitSaysSo starts a rebuild while another one of the same binary
// holds the lock: the second says at once that it waits, and for which
// process; interrupted, it stops with nothing changed, and the first
// one is not disturbed.
func TestWaitSaysSo(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	first := exec.Command(bin, "plugins", "add", "example.com/bplugin@v1.0.0")
	first.Dir, first.Env = dir, env()
	firstOut := startLines(t, first)
	// The lock is taken at the end of prepare.
	waitLine(t, firstOut, "selfcompile: prepare ", 2*time.Minute)

	second := exec.Command(bin, "plugins", "add", "example.com/aplugin@v1.2.0")
	second.Dir, second.Env = dir, env()
	secondOut := startLines(t, second)
	want := fmt.Sprintf("selfcompile: warning: waiting for another rebuild of %s (pid %d, since ", bin, first.Process.Pid)
	line := waitLine(t, secondOut, want, 30*time.Second)
	if !strings.HasSuffix(line, ") to finish (Options.NoWait refuses instead)") {
		t.Errorf("waiting line %q does not name Options.NoWait", line)
	}
	second.Process.Signal(syscall.SIGINT)
	rest := drain(secondOut)
	var exit *exec.ExitError
	if err := second.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("the waiting rebuild, interrupted: %v, want exit code 130\n%s", err, rest)
	}
	mustContain(t, rest, "plugins: interrupted; nothing changed")

	rest = drain(firstOut)
	if err := first.Wait(); err != nil {
		t.Fatalf("the first rebuild: %v\n%s", err, rest)
	}
	mustContain(t, run(t, true, "", env(), bin), "registered: [bplugin]")
}

// startLines starts cmd and returns its stderr and stdout, line by line.
func startLines(t *testing.T, cmd *exec.Cmd) <-chan string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close() // the command's copy ends the lines when it exits
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			t.Logf("%s: %s", filepath.Base(cmd.Args[0])+" "+cmd.Args[3], sc.Text())
			lines <- sc.Text()
		}
	}()
	return lines
}

// waitLine waits for a line beginning with prefix and returns it.
func waitLine(t *testing.T, lines <-chan string, prefix string, d time.Duration) string {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the command ended before a line %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line %q after %v", prefix, d)
		}
	}
}

// drain returns the lines still to come, until the command's output ends.
func drain(lines <-chan string) string {
	var b strings.Builder
	for l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}
