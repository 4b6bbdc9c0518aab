package rebuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// earlyBuild is the build stage's work, started before the stage so that
// it overlaps the verify stage: its preparation (the plugin imports, the
// package listing, the new bundle) at once, its go build once verify has
// compiled what the plugins need (release). The build stage then waits
// for it (wait). Nothing it makes is used unless verify passes: a refusal
// stops it (stop), and its files lie in the work directory.
type earlyBuild struct {
	cancel   context.CancelFunc
	released chan struct{}
	once     sync.Once
	done     chan struct{}
	out      *build.Output
	err      error
	// count holds the go build's progress until the build stage starts.
	count progressBuffer
	// report reports the build stage's progress.
	report func(done, total int)
}

// startBuild starts the build of in beside the stages that follow.
func (p *pipeline) startBuild(ctx context.Context, in build.Input) *earlyBuild {
	ctx, cancel := context.WithCancel(ctx)
	e := &earlyBuild{cancel: cancel, released: make(chan struct{}), done: make(chan struct{}), report: p.progressIn("build")}
	go func() {
		defer close(e.done)
		prep, err := build.Prepare(ctx, in)
		if err != nil {
			e.err = err
			return
		}
		select {
		case <-e.released:
		case <-ctx.Done():
			e.err = ctx.Err()
			return
		}
		e.out, e.err = prep.Build(ctx, e.count.update)
	}()
	return e
}

// release lets the go build start. It does nothing on a nil e (a dry run
// builds nothing).
func (e *earlyBuild) release() {
	if e != nil {
		e.once.Do(func() { close(e.released) })
	}
}

// wait is the build stage: it releases the go build if verify did not
// (it had no plugin to check), reports its progress from now on, and
// waits for it.
func (e *earlyBuild) wait(ctx context.Context) (*build.Output, error) {
	e.release()
	e.count.start(e.report)
	select {
	case <-e.done:
		return e.out, e.err
	case <-ctx.Done():
		e.stop()
		return nil, ctx.Err()
	}
}

// stop ends the build if it still runs and waits for it to have ended.
func (e *earlyBuild) stop() {
	e.cancel()
	<-e.done
}

// progressBuffer passes a go command's progress on to report once that is
// set (start), the last report before it first: the build's go command
// may compile a package while the verify stage is the one shown.
type progressBuffer struct {
	mu          sync.Mutex
	done, total int
	seen        bool
	report      func(done, total int)
}

func (b *progressBuffer) update(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.total, b.seen = done, total, true
	if b.report != nil {
		b.report(done, total)
	}
}

func (b *progressBuffer) start(report func(done, total int)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.report = report
	if b.seen {
		report(b.done, b.total)
	}
}

// warmUp starts compiling the host's main package and its dependencies as
// the bundle has them, with the flags the plugins' type-check compiles
// with, and returns what stops it: for the time modgen spends on the
// network on a first rebuild, when nothing of the program is compiled
// yet. What it compiled stays in the build cache for verify and build
// (all of it but what the plugins move), what it did not is theirs to
// compile. It reads a copy of go.mod and go.sum (-modfile), as modgen
// rewrites them meanwhile, and changes neither (-mod=readonly). A module
// modgen completes under it holds the same files as before and more, so
// nothing it compiles differs; a package it fails on is left to the
// stages.
func (p *pipeline) warmUp(ctx context.Context, goRun *gocmd.Runner, tree *build.Tree, work string, flags []string) (stop func()) {
	modFile := filepath.Join(work, "warmup.mod")
	for from, to := range map[string]string{"go.mod": modFile, "go.sum": strings.TrimSuffix(modFile, ".mod") + ".sum"} {
		data, err := os.ReadFile(filepath.Join(tree.Module, from))
		if err == nil {
			err = os.WriteFile(to, data, 0o644)
		}
		if err != nil && from == "go.mod" {
			return func() {}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	run := *goRun
	run.OnRun = func(r gocmd.Run) {
		if ctx.Err() != nil {
			r.Err = nil // stopped, as meant to be
		}
		p.ranGoIn("modgen", r)
	}
	args := append([]string{"-mod=readonly", "-modfile=" + modFile, "-e", "-deps", "-export", "-compiled", "-f", "{{.ImportPath}}"}, flags...)
	args = append(args, "-pgo=off", "-buildvcs=false", "--", tree.MainPackage())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = run.Run(ctx, gocmd.Invocation{Verb: "list", Args: args, WorkingDir: tree.Module})
	}()
	return func() {
		cancel()
		<-done
	}
}
