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
// package listing, the new bundle) and its go build at once. When verify
// finds many packages to compile (a cold build cache, a plugin with many
// dependencies), the go build steps back (yield) until verify has
// compiled them (release), so that the two do not compile the same
// packages side by side: it is interrupted, keeping in the build cache
// what it finished, and runs again once released. When verify compiles a
// few, both compile them, and the build does not wait. The build stage
// then waits for it (wait). Nothing it makes is used unless verify
// passes: a refusal stops it (stop), and its files lie in the work
// directory.
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

	mu sync.Mutex
	// yielded is set once the build must wait for release; stopRun
	// interrupts the go build running, if any; stepping says that the
	// running one was interrupted so (its go commands did not fail).
	yielded  bool
	stopRun  context.CancelFunc
	stepping bool
}

// startBuild starts the build of in beside the stages that follow. Its
// go commands and progress are reported as the build stage's.
func (p *pipeline) startBuild(ctx context.Context, in build.Input) *earlyBuild {
	ctx, cancel := context.WithCancel(ctx)
	e := &earlyBuild{cancel: cancel, released: make(chan struct{}), done: make(chan struct{}), report: p.progressIn("build")}
	run := *in.Go
	run.OnRun = func(r gocmd.Run) {
		if r.Err != nil && e.steppingBack() {
			r.Err = nil // interrupted to step back, as meant to be
		}
		p.ranGoIn("build", r)
	}
	in.Go = &run
	go func() {
		defer close(e.done)
		prep, err := build.Prepare(ctx, in)
		if err != nil {
			e.err = err
			return
		}
		for {
			out, err, again := e.attempt(ctx, prep)
			if !again {
				e.out, e.err = out, err
				return
			}
			select {
			case <-e.released:
			case <-ctx.Done():
				e.err = ctx.Err()
				return
			}
		}
	}()
	return e
}

// attempt runs the go build unless it must wait for release; again
// reports that it did not run to its end for that reason.
func (e *earlyBuild) attempt(ctx context.Context, prep *build.Prepared) (out *build.Output, err error, again bool) {
	e.mu.Lock()
	if e.yielded && !e.isReleased() {
		e.mu.Unlock()
		return nil, nil, true
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	e.stopRun, e.stepping = stop, false
	e.count.reset()
	e.mu.Unlock()
	out, err = prep.Build(rctx, e.count.update)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopRun = nil
	if err != nil && ctx.Err() == nil && e.stepping {
		return nil, nil, true
	}
	return out, err, false
}

// yield makes the go build wait for release, interrupting it if it runs.
// It does nothing once released, or on a nil e.
func (e *earlyBuild) yield() {
	if e == nil || e.isReleased() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.yielded {
		return
	}
	e.yielded = true
	if e.stopRun != nil {
		e.stepping = true
		e.stopRun()
	}
}

// steppingBack reports whether the go build running was interrupted to
// wait for release.
func (e *earlyBuild) steppingBack() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stepping
}

func (e *earlyBuild) isReleased() bool {
	select {
	case <-e.released:
		return true
	default:
		return false
	}
}

// release lets the go build run to its end. It does nothing on a nil e
// (a dry run builds nothing).
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

// reset forgets what an interrupted go build reported.
func (b *progressBuffer) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.total, b.seen = 0, 0, false
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
