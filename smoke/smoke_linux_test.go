package smoke

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// checkChildGone checks that the process the forks program started
// ("started PID" in its output) was killed with its process group. A
// zombie counts as gone: its parent exited and PID 1 of a container may
// not reap it.
func checkChildGone(t *testing.T, output string) {
	t.Helper()
	_, rest, ok := strings.Cut(output, "started ")
	var pid int
	if !ok {
		t.Fatal("no pid in the output")
	}
	if _, err := fmt.Sscanf(rest, "%d", &pid); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") || !strings.Contains(string(stat), "(sleep)") {
			return
		}
	}
	t.Errorf("the sleep process %d started by the binary is still running", pid)
}
