//go:build unix

package proc

import (
	"os/exec"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// KillAll ends the groups of the commands that started and were not
// given to Kill, and forgets them.
func TestKillAll(t *testing.T) {
	testkit.NeedCommand(t, "sh")
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.Command("sh", "-c", "sleep 30 & wait")
		Isolate(cmd)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	start := time.Now()
	KillAll()
	for _, cmd := range cmds {
		if err := cmd.Wait(); err == nil {
			t.Errorf("%v exited 0, want killed", cmd.Args)
		}
		// The sleep goes too (a zombie until init reaps it).
		for Kill(cmd) == nil && time.Since(start) < 5*time.Second {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if d := time.Since(start); d >= 5*time.Second {
		t.Errorf("the groups were still there %v after KillAll", d)
	}
	if len(live.cmds) != 0 {
		t.Errorf("%d commands remembered after KillAll", len(live.cmds))
	}
}
