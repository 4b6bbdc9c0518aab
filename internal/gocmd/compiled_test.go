package gocmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// writeModule writes a module of three packages, c importing b importing
// a, that import nothing else: building them compiles no standard
// package, so a fresh build cache costs nothing.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, files)
	return dir
}

var chain = map[string]string{
	"go.mod":   "module example.com/chain\n\ngo 1.26\n",
	"a/a.go":   "package a\n\nconst A = 1\n",
	"b/b.go":   "package b\n\nimport \"example.com/chain/a\"\n\nconst B = a.A + 1\n",
	"c/c.go":   "package c\n\nimport \"example.com/chain/b\"\n\nconst C = b.B + 1\n",
	"bad/x.go": "package bad\n\nimport \"example.com/chain/a\"\n\nvar X int = a.A + \"no\"\n",
}

// The count of a rebuild's progress, from the go command's own output:
// OutOfDate says how many packages a build compiles, and Compiled sees
// each as the go command starts it; a second build compiles nothing.
func TestCompiledCountsWhatTheGoCommandCompiles(t *testing.T) {
	testkit.NeedGo(t)
	dir := writeModule(t, chain)
	var runs []Run
	r := &Runner{Env: []string{"GOCACHE=" + t.TempDir(), "GOFLAGS=-mod=mod", "GOPROXY=off"}, OnRun: func(run Run) { runs = append(runs, run) }}
	ctx := context.Background()
	stale, err := r.OutOfDate(ctx, dir, nil, []string{"./c"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"example.com/chain/a", "example.com/chain/b", "example.com/chain/c"}
	if !slices.Equal(stale, want) {
		t.Fatalf("out of date before a build: %q, want %q", stale, want)
	}
	var compiled []string
	if _, err := r.Run(ctx, Invocation{Verb: "build", Args: []string{"./c"}, WorkingDir: dir, Compiled: func(p string) { compiled = append(compiled, p) }}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(compiled, want) {
		t.Errorf("compiled %q, want %q", compiled, want)
	}
	if stale, err = r.OutOfDate(ctx, dir, nil, []string{"./c"}); err != nil || len(stale) != 0 {
		t.Errorf("out of date after the build: %q, %v; want none", stale, err)
	}
	compiled = nil
	if _, err := r.Run(ctx, Invocation{Verb: "build", Args: []string{"./c"}, WorkingDir: dir, Compiled: func(p string) { compiled = append(compiled, p) }}); err != nil || len(compiled) != 0 {
		t.Errorf("a second build compiled %q (%v), want nothing", compiled, err)
	}
	// Every run was reported, with its arguments.
	if len(runs) != 4 || runs[0].Args[0] != "list" || !slices.Equal(runs[1].Args, []string{"build", "-v", "./c"}) || runs[1].Dir != dir || runs[1].Duration <= 0 {
		t.Errorf("runs %+v, want list, build -v ./c, list, build -v ./c", runs)
	}
}

// A failed build keeps its errors for the error message, and only those.
func TestCompiledKeepsErrorsOutOfTheCount(t *testing.T) {
	testkit.NeedGo(t)
	dir := writeModule(t, chain)
	var runs []Run
	r := &Runner{Env: []string{"GOCACHE=" + t.TempDir(), "GOFLAGS=-mod=mod", "GOPROXY=off"}, OnRun: func(run Run) { runs = append(runs, run) }}
	var compiled []string
	_, err := r.Run(context.Background(), Invocation{Verb: "build", Args: []string{"./bad"}, WorkingDir: dir, Compiled: func(p string) { compiled = append(compiled, p) }})
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v, want *Error", err)
	}
	if !slices.Equal(compiled, []string{"example.com/chain/a", "example.com/chain/bad"}) {
		t.Errorf("compiled %q, want a, then bad", compiled)
	}
	if !strings.Contains(ge.Stderr, "x.go:5") || strings.Contains(ge.Stderr, "example.com/chain/a\n") {
		t.Errorf("stderr kept %q, want the compile error without the -v lines", ge.Stderr)
	}
	if len(runs) != 1 || runs[0].Err == nil {
		t.Errorf("runs %+v, want one failed run", runs)
	}
}

// RunCounted lists the total only for a run that compiles CountFrom
// packages or more, and reports a count that grows, never above its
// total, and ends with every package compiled as the total.
func TestRunCounted(t *testing.T) {
	testkit.NeedGo(t)
	const n = 3 * CountFrom // a chain, so that the count has time to be listed
	files := map[string]string{"go.mod": "module example.com/many\n\ngo 1.26\n", "p0/p.go": "package p0\n\nconst V = 0\n"}
	for i := 1; i < n; i++ {
		files[fmt.Sprintf("p%d/p.go", i)] = fmt.Sprintf("package p%d\n\nimport \"example.com/many/p%d\"\n\nconst V = p%d.V + 1\n", i, i-1, i-1)
	}
	dir := writeModule(t, files)
	var mu sync.Mutex
	var lists int
	r := &Runner{Env: []string{"GOCACHE=" + t.TempDir(), "GOFLAGS=-mod=mod", "GOPROXY=off"}, OnRun: func(run Run) {
		mu.Lock()
		defer mu.Unlock()
		if run.Args[0] == "list" && slices.Contains(run.Args, "{{if .Stale}}{{.ImportPath}}{{end}}") {
			lists++
		}
	}}
	last := fmt.Sprintf("./p%d", n-1)
	run := func() (progress [][2]int) {
		inv := Invocation{Verb: "build", Args: []string{last}, WorkingDir: dir}
		if _, err := r.RunCounted(context.Background(), inv, nil, []string{last}, func(done, total int) { progress = append(progress, [2]int{done, total}) }); err != nil {
			t.Fatal(err)
		}
		return progress
	}
	progress := run()
	if k := len(progress); k < 2 || progress[k-1] != [2]int{n, n} {
		t.Errorf("progress %v, want several reports ending with %d of %d", progress, n, n)
	}
	for i, p := range progress {
		if p[0] > p[1] || i > 0 && (p[0] < progress[i-1][0]) {
			t.Errorf("progress %v: done above total, or going back, at %d", progress, i)
		}
	}
	if lists != 1 {
		t.Errorf("the total was listed %d times for a run of %d packages, want once", lists, n)
	}
	// A second build compiles nothing: no listing, no report.
	if progress := run(); len(progress) != 0 || lists != 1 {
		t.Errorf("a build that compiles nothing reported %v and listed %d times, want nothing and no listing", progress, lists-1)
	}
}
