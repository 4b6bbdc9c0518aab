package rebuild

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
	"github.com/selfcompile/go-selfcompile/internal/verify"
)

// TestVerifyWithBundledGo checks plugins with the go command of the
// GOROOT it is given, which the process's PATH does not name, and gets
// back the refusals as the typed errors verify.Plugins returns.
func TestVerifyWithBundledGo(t *testing.T) {
	goroot, dir := hostModule(t)
	// go/packages finds its go command on the process's PATH only.
	noGo := t.TempDir()
	t.Setenv("PATH", noGo)
	var mu sync.Mutex // the count's go commands run beside the compile
	var ran []string
	record := func(args []string) {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, strings.Join(args, " "))
	}
	goRun := &gocmd.Runner{GoBin: filepath.Join(goroot, "bin", "go"), Env: []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "CGO_ENABLED=0"}, OnRun: func(r gocmd.Run) { record(r.Args) }}
	cfg := verify.Config{Dir: dir, OnGoCommand: func(args []string, _ time.Duration) { record(args) }}
	var progress [][2]int
	releasedAfter := -1
	paths := []string{"example.com/host/hasinit", "example.com/host/noinit", "example.com/host/cmd"}
	reports, err := verifyPlugins(context.Background(), goroot, goRun, setPATH, cfg, paths, func(ctx context.Context) {
		compileForTypeCheck(ctx, goRun, cfg, paths, func(done, total int) {
			progress = append(progress, [2]int{done, total})
		})
		mu.Lock()
		defer mu.Unlock()
		releasedAfter = len(ran)
	})
	// The packages of this module are new to the build cache (their
	// directory is part of the key): the count grows to every package it
	// found out of date, never above its total.
	n := len(progress)
	if n == 0 || progress[n-1][0] != progress[n-1][1] || progress[n-1][1] < 3 {
		t.Errorf("progress %v, want it to end with N of N, N >= 3", progress)
	}
	for i, p := range progress {
		if p[0] > p[1] || i > 0 && p[0] < progress[i-1][0] {
			t.Errorf("progress %v: done above total, or going back, at %d", progress, i)
		}
	}
	// The type-check waits for the compile.
	if releasedAfter < 0 || !slices.ContainsFunc(ran[:releasedAfter], func(r string) bool { return strings.HasPrefix(r, "list -v -e -deps -export") }) ||
		slices.ContainsFunc(ran[:releasedAfter], func(r string) bool { return strings.Contains(r, "-export=true") }) {
		t.Errorf("compile returned after %d of go commands %q, want after the counted compile and before go/packages' type-check", releasedAfter, ran)
	}
	// Every go command was reported: the counted compile, and those
	// go/packages ran.
	var count, typeCheck bool
	for _, r := range ran {
		count = count || strings.HasPrefix(r, "list -v -e -deps -export")
		typeCheck = typeCheck || strings.HasPrefix(r, "list -e -json=") && strings.Contains(r, "-export=true")
	}
	if !count || !typeCheck {
		t.Errorf("go commands %q, want the counted compile and go/packages' type-check", ran)
	}
	if len(reports) != 1 || reports[0].Path != "example.com/host/hasinit" || len(reports[0].Inits) != 1 {
		t.Errorf("reports %+v, want one for hasinit with its init", reports)
	}
	var pe *verify.PluginError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want *verify.PluginError values", err)
	}
	reasons := map[string]verify.Reason{}
	refused, _ := verify.Refusals(err)
	for _, pe := range refused {
		reasons[pe.Plugin] = pe.Reason
	}
	if reasons["example.com/host/noinit"] != verify.NoInitCode || reasons["example.com/host/cmd"] != verify.IsCommand {
		t.Errorf("refusals %v", reasons)
	}
	if got := os.Getenv("PATH"); got != noGo {
		t.Errorf("PATH is %q after the check, want %q as it was", got, noGo)
	}
	checks := wireChecks(reports)
	if len(checks) != 1 || len(checks[0].Inits) != 1 || !strings.Contains(checks[0].Inits[0], "hasinit/p.go:3:") {
		t.Errorf("checks %+v, want hasinit's init at hasinit/p.go:3", checks)
	}
}

// hostModule writes a module of a command and two packages, one with
// init code, and returns the GOROOT of the go command on PATH with the
// module's directory; it skips the test without a go command.
func hostModule(t *testing.T) (goroot, dir string) {
	t.Helper()
	goBin := testkit.NeedGo(t)
	out, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	for name, data := range map[string]string{
		"go.mod":       "module example.com/host\n\ngo 1.26\n",
		"cmd/main.go":  "package main\n\nfunc main() {}\n",
		"noinit/p.go":  "package noinit\n\nfunc F() {}\n",
		"hasinit/p.go": "package hasinit\n\nfunc init() { println() }\n",
	} {
		name = filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return strings.TrimSpace(string(out)), dir
}

// A plugin the checks that compile nothing refuse is refused without
// waiting for the compile, which is stopped.
func TestVerifyRefusalStopsTheCompile(t *testing.T) {
	goroot, dir := hostModule(t)
	goRun := &gocmd.Runner{Env: []string{"GOFLAGS=-mod=mod", "GOPROXY=off"}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stopped := false
	_, err := verifyPlugins(ctx, goroot, goRun, setPATH, verify.Config{Dir: dir}, []string{"example.com/host/cmd"}, func(ctx context.Context) {
		<-ctx.Done() // a compile that would not end by itself
		stopped = true
	})
	var pe *verify.PluginError
	if !errors.As(err, &pe) || pe.Reason != verify.IsCommand || !stopped {
		t.Errorf("verifyPlugins(cmd) = %v, compile stopped %v: want the refusal, the compile stopped", err, stopped)
	}
}

// Nothing to check runs no go command and compiles nothing.
func TestVerifyNothing(t *testing.T) {
	compiled := false
	reports, err := verifyPlugins(context.Background(), "/nonexistent", &gocmd.Runner{}, setPATH, verify.Config{}, nil, func(context.Context) { compiled = true })
	if reports != nil || err != nil || compiled {
		t.Errorf("verifyPlugins(nil) = %v, %v, compiled %v: want nothing", reports, err, compiled)
	}
}

// withProfile names the main package's default.pgo, which go build's
// -pgo=auto takes, unless there is none or the flags name a profile.
func TestWithProfile(t *testing.T) {
	tree := &build.Tree{MainDir: t.TempDir()}
	flags := []string{"-buildvcs=false", "-tags=x"}
	if got := withProfile(flags, tree); !slices.Equal(got, flags) {
		t.Errorf("without a profile: %q, want %q", got, flags)
	}
	pgo := filepath.Join(tree.MainDir, "default.pgo")
	if err := os.WriteFile(pgo, []byte("profile"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := withProfile(flags, tree), append(slices.Clone(flags), "-pgo="+pgo); !slices.Equal(got, want) {
		t.Errorf("with a profile: %q, want %q", got, want)
	}
	if len(flags) != 2 {
		t.Errorf("withProfile changed its argument: %q", flags)
	}
	given := []string{"-pgo=off"}
	if got := withProfile(given, tree); !slices.Equal(got, given) {
		t.Errorf("with -pgo given: %q, want it kept", got)
	}
	// The profile the build uses, which the standard packages compiled
	// ahead outside the module would not match.
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{nil, pgo},
		{[]string{"-pgo=off"}, ""},
		{[]string{"-pgo=/p/other.pgo"}, "/p/other.pgo"},
	} {
		if got := profile(c.flags, tree); got != c.want {
			t.Errorf("profile(%q) = %q, want %q", c.flags, got, c.want)
		}
	}
}

// setPATH does for the tests what the helper's main does for a rebuild
// (rebuild.Process.SetPATH): sets the process's PATH until restored.
func setPATH(path string) (func(), error) {
	old := os.Getenv("PATH")
	if err := os.Setenv("PATH", path); err != nil {
		return nil, err
	}
	return func() { os.Setenv("PATH", old) }, nil
}
