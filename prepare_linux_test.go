package selfcompile

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testuser"
)

// A setuid-root host run by another user is refused before anything is
// read: the child of this test sets its real uid to the other user's,
// keeping the effective uid 0, as exec of a root-owned 4755 file does.
func TestRunRefusesSetuidProcess(t *testing.T) {
	if os.Getenv("SELFCOMPILE_TEST_SETUID") == "child" {
		uid, _, err := testuser.Other()
		if err != nil {
			fmt.Println("child:", err)
			os.Exit(2)
		}
		if err := syscall.Setresuid(uid, 0, 0); err != nil {
			fmt.Println("child: setresuid:", err)
			os.Exit(2)
		}
		_, err = New(Options{Plugins: []string{"example.com/aplugin"}}).Run(context.Background())
		fmt.Println("child:", err)
		os.Exit(0)
	}
	testuser.Need(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunRefusesSetuidProcess$")
	cmd.Env = append(os.Environ(), "SELFCOMPILE_TEST_SETUID=child")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "refusing to rebuild a setuid or setgid program") {
		t.Errorf("a process with real uid != effective uid: %s", out)
	}
}
