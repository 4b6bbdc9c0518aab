package selfcompile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/testuser"
	"github.com/selfcompile/go-selfcompile/stub"
	"github.com/selfcompile/go-selfcompile/swap"
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

// Proof 10 of the security review: a binary and its directory owned by
// root, run by another user (real, effective and saved ids all theirs),
// is refused in prepare, naming the owner, before any build stage runs;
// not at the swap, after the whole build.
func TestRunRefusesOtherOwnersTarget(t *testing.T) {
	if os.Getenv("SELFCOMPILE_TEST_OWNER") == "child" {
		rebuildAsOtherUser(os.Getenv("SELFCOMPILE_TEST_CACHE"))
		return
	}
	uid, gid := testuser.Need(t)
	// The binary, root's, where the other user can run it but not write.
	dir := t.TempDir()
	cache := filepath.Join(t.TempDir(), "cache")
	for _, d := range []string{filepath.Dir(dir), dir, filepath.Dir(filepath.Dir(cache)), filepath.Dir(cache)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(dir, "host")
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	// A cache of the other user's own, so that only the target's owner
	// is wrong.
	if err := os.Mkdir(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(cache, uid, gid); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(target, "-test.run=^TestRunRefusesOtherOwnersTarget$")
	cmd.Env = append(os.Environ(), "SELFCOMPILE_TEST_OWNER=child", "SELFCOMPILE_TEST_CACHE="+cache)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("child: running as uid %d gid %d\n", uid, gid)) {
		t.Fatalf("the child did not switch to the other user:\n%s", out)
	}
	want := fmt.Sprintf("child: prepare: cannot replace %s: it belongs to uid 0 and this process runs as uid %d", target, uid)
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "child: not owner: true\n") {
		t.Errorf("Run of a root-owned binary as uid %d: want %q:\n%s", uid, want, out)
	}
	if !strings.Contains(string(out), "child: events: start prepare, failed prepare\n") {
		t.Errorf("stages beside prepare ran, or none:\n%s", out)
	}
	if after, err := os.Stat(target); err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the target changed: %v", err)
	}
}

// rebuildAsOtherUser, in the child of TestRunRefusesOtherOwnersTarget,
// becomes the other user for good and runs a rebuild of this binary with
// a bundle registered as a generated stub would, printing what it saw.
func rebuildAsOtherUser(cache string) {
	uid, gid, err := testuser.Other()
	if err == nil {
		err = syscall.Setgroups([]int{gid})
	}
	if err == nil {
		err = syscall.Setresgid(gid, gid, gid)
	}
	if err == nil {
		err = syscall.Setresuid(uid, uid, uid)
	}
	if err != nil {
		fmt.Println("child: becoming the other user:", err)
		os.Exit(2)
	}
	fmt.Printf("child: running as uid %d gid %d\n", os.Geteuid(), os.Getegid())
	stub.Register(fstest.MapFS{}, bundle.Info{Format: bundle.FormatVersion, GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, MainPackage: "example.com/host"})
	var events []string
	_, err = New(Options{
		Plugins:  []string{"example.com/aplugin@v1.2.0"},
		CacheDir: cache,
		OnEvent: func(e Event) {
			events = append(events, e.Kind.String()+" "+string(e.Stage))
		},
	}).Run(context.Background())
	var se *StageError
	if errors.As(err, &se) {
		fmt.Printf("child: %s: %v\n", se.Stage, se.Err)
	} else {
		fmt.Println("child: no stage error:", err)
	}
	fmt.Println("child: not owner:", errors.Is(err, swap.ErrNotOwner))
	fmt.Println("child: events:", strings.Join(events, ", "))
	os.Exit(0)
}
