//go:build e2e

package integration

import (
	"bufio"
	"bytes"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestRollback installs a plugin, rolls back to the binary without it,
// and rolls forward again.
func TestRollback(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	orig := testkit.Snapshot(t, dir)[filepath.Base(bin)]
	out := run(t, false, dir, env(), bin, "--rollback")
	mustContain(t, out, "nothing to roll back to")

	run(t, true, dir, env(), bin, "--plugin", "example.com/bplugin@v1.0.0")
	mustContain(t, run(t, true, dir, env(), bin), "registered: [bplugin]")
	run(t, true, dir, env(), bin, "--rollback")
	mustContain(t, run(t, true, dir, env(), bin), "registered: []")
	if got := testkit.Snapshot(t, dir)[filepath.Base(bin)]; got != orig {
		t.Errorf("after rollback the binary is %s, want the original %s", got, orig)
	}
	run(t, true, dir, env(), bin, "--rollback")
	mustContain(t, run(t, true, dir, env(), bin), "registered: [bplugin]")
	mustHaveOnly(t, dir, filepath.Base(bin), filepath.Base(bin)+".selfcompile-backup")
}

// TestInterrupt sends SIGINT to a rebuild at the start of each slow stage:
// the go commands stop, the work directory goes, the binary stays.
func TestInterrupt(t *testing.T) {
	for _, stage := range []string{"modgen", "verify", "build"} {
		t.Run(stage, func(t *testing.T) {
			bin := install(t, exampleBinary(t))
			dir := filepath.Dir(bin)
			before := testkit.Snapshot(t, dir)
			// A fresh cache makes every stage slow enough to interrupt.
			cache := t.TempDir()
			cmd := exec.Command(bin, "--plugin", "example.com/aplugin@v1.2.0")
			cmd.Dir = dir
			cmd.Env = env("XDG_CACHE_HOME=" + cache)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			sc := bufio.NewScanner(stderr)
			prev := map[string]string{"modgen": "source", "verify": "modgen", "build": "verify"}[stage]
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "selfcompile: "+prev) {
					cmd.Process.Signal(syscall.SIGINT)
					break
				}
			}
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
			}
			err = cmd.Wait()
			t.Logf("stderr:\n%s", log.String())
			if err == nil {
				t.Fatal("the interrupted rebuild succeeded")
			}
			mustContain(t, log.String(), "context canceled")
			if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("directory changed by an interrupted run:\nbefore %v\nafter  %v", before, after)
			}
			// The module cache beside the work directory is kept on
			// purpose (checked at its next use), and so are its records
			// beside it (NAME.mod.seen: see internal/build); nothing else is.
			work, _ := filepath.Glob(filepath.Join(cache, "go-selfcompile", "work", "*"))
			work = slices.DeleteFunc(work, func(p string) bool {
				return strings.HasSuffix(p, ".mod") || strings.Contains(filepath.Base(p), ".mod.")
			})
			if len(work) != 0 {
				t.Errorf("work directories left: %v", work)
			}
			mustContain(t, run(t, true, dir, env(), bin), "Just doing binary things")
		})
	}
}

// TestConcurrentRuns starts two rebuilds of one binary at once while a
// loop keeps running it: they never interleave, the one that waited for
// the lock refuses to build from a binary that was replaced meanwhile, and
// the path always holds a binary that runs.
func TestConcurrentRuns(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	stop := make(chan struct{})
	var runs, failures int
	var loop sync.WaitGroup
	loop.Add(1)
	go func() {
		defer loop.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			out, err := exec.Command(bin).CombinedOutput()
			runs++
			if err != nil || !strings.Contains(string(out), "Just doing binary things") {
				failures++
				t.Errorf("running the target during rebuilds: %v\n%s", err, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	specs := []string{"example.com/aplugin@v1.2.0", "example.com/bplugin@v1.0.0"}
	outs := make([]string, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "--plugin", spec)
			cmd.Dir, cmd.Env = dir, env()
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	close(stop)
	loop.Wait()
	t.Logf("the target ran %d times during the rebuilds, %d failures", runs, failures)
	ok := 0
	for i := range specs {
		t.Logf("rebuild %s: %v\n%s", specs[i], errs[i], outs[i])
		if errs[i] == nil {
			ok++
		} else {
			mustContain(t, outs[i], "was replaced by another rebuild while this one waited")
		}
	}
	if ok != 1 {
		t.Errorf("%d rebuilds succeeded, want exactly 1", ok)
	}
	out := run(t, true, dir, env(), bin)
	if strings.Contains(out, "registered: [aplugin]") == strings.Contains(out, "registered: [bplugin]") {
		t.Errorf("want exactly one plugin installed:\n%s", out)
	}
	mustHaveOnly(t, dir, filepath.Base(bin), filepath.Base(bin)+".selfcompile-backup")
}

// TestNoCCompiler rebuilds a binary that was built with cgo on, on a PATH
// without a C compiler: it builds with cgo off and says so.
func TestNoCCompiler(t *testing.T) {
	bin := install(t, exampleBinary(t))
	if !strings.Contains(run(t, true, "", env(), "go", "version", "-m", bin), "CGO_ENABLED=1") {
		t.Skip("the example was built with cgo off (no C compiler on this machine): nothing to fall back from")
	}
	empty := t.TempDir()
	out := run(t, true, filepath.Dir(bin), env("PATH="+empty), bin, "--plugin", "example.com/bplugin@v1.0.0")
	mustContain(t, out, "warning:", "no C compiler", "CGO_ENABLED=0")
	mustContain(t, run(t, true, "", env(), "go", "version", "-m", bin), "CGO_ENABLED=0")
	mustContain(t, run(t, true, "", env(), bin), "registered: [bplugin]")
}
