package rebuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// earlyBuild is the build stage's work, started before the stage so that
// it overlaps the verify stage: its preparation (the plugin imports, the
// new bundle) and its go build at once. The go build compiles what the
// plugins' type-check needs, as a plain go build would, in one go
// command: verify waits for it to have compiled every package but the
// host's main one (compiled) and type-checks from that export data while
// the go build goes on with the main package and the link. The build
// stage then waits for it (wait). Nothing it makes is used unless verify
// passes: a refusal stops it (stop), and its files lie in the work
// directory.
type earlyBuild struct {
	cancel context.CancelFunc
	done   chan struct{}
	out    *build.Output
	err    error
	// deps is closed once the go build has compiled every package but
	// the main one, or has ended; depsOnce closes it.
	deps     chan struct{}
	depsOnce sync.Once
	// count holds the go build's progress until the build stage starts.
	count progressBuffer
	// report reports the build stage's progress.
	report func(done, total int)
}

// startBuild starts the build of in beside the stages that follow. Its
// go commands and progress are reported as the build stage's.
func (p *pipeline) startBuild(ctx context.Context, in build.Input) *earlyBuild {
	ctx, cancel := context.WithCancel(ctx)
	e := &earlyBuild{cancel: cancel, done: make(chan struct{}), deps: make(chan struct{}), report: p.progressIn(orchestrator.Build)}
	depsDone := func() { e.depsOnce.Do(func() { close(e.deps) }) }
	run := *in.Go
	run.OnRun = func(r gocmd.Run) { p.ranGoIn(orchestrator.Build, r) }
	in.Go = &run
	go func() {
		defer close(e.done)
		defer depsDone()
		prep, err := build.Prepare(ctx, in)
		if err != nil {
			e.err = err
			return
		}
		e.out, e.err = prep.Build(ctx, e.count.update, depsDone)
	}()
	return e
}

// compiled waits until the go build has compiled what the plugins'
// type-check needs (every package but the main one), or has ended, and
// reports meanwhile the go build's progress to progress: for that time,
// verify waits on it. It does nothing on a nil e.
func (e *earlyBuild) compiled(ctx context.Context, progress func(done, total int)) {
	if e == nil {
		return
	}
	e.count.mirror(progress)
	defer e.count.mirror(nil)
	select {
	case <-e.deps:
	case <-ctx.Done():
	}
}

// wait is the build stage: it reports the go build's progress from now
// on, and waits for it.
func (e *earlyBuild) wait(ctx context.Context) (*build.Output, error) {
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
// compiles while the verify stage is the one shown. Until then it passes
// it on to mirror, when set: verify's progress, while verify waits for it.
type progressBuffer struct {
	mu          sync.Mutex
	done, total int
	seen        bool
	report      func(done, total int)
	mirrored    func(done, total int)
}

func (b *progressBuffer) update(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done, b.total, b.seen = done, total, true
	switch {
	case b.report != nil:
		b.report(done, total)
	case b.mirrored != nil:
		b.mirrored(done, total)
	}
}

// mirror passes the progress on to report (nil: no longer) until start,
// the last report first.
func (b *progressBuffer) mirror(report func(done, total int)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mirrored = report
	if report != nil && b.seen && b.report == nil {
		report(b.done, b.total)
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
// the bundle has them, with the build's flags, and returns what stops it:
// for the time modgen spends on the network on a first rebuild, when
// nothing of the program is compiled yet. What it compiled stays in the
// build cache for the build (all of it but what the plugins move), what
// it did not is the build's to compile. It reads a copy of go.mod and
// go.sum (-modfile), as modgen rewrites them meanwhile, and changes
// neither (-mod=readonly). A module modgen completes under it holds the
// same files as before and more, so nothing it compiles differs; a
// package it fails on is left to the stages.
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
	args := append([]string{"-mod=readonly", "-modfile=" + modFile}, flags...)
	return p.compileAhead(ctx, goRun, orchestrator.Modgen, tree.Module, args, []string{tree.MainPackage()})
}

// warmUpStd starts compiling the standard packages std with the build's
// flags, in dir, outside the host module (their compiled forms do not
// depend on one, and it needs no module of it), and returns what stops
// it: for the time a first rebuild unpacks the modules, which leaves the
// processors idle. A bundle that names none starts nothing.
func (p *pipeline) warmUpStd(ctx context.Context, goRun *gocmd.Runner, dir string, flags, std []string) (stop func()) {
	if len(std) == 0 {
		return func() {}
	}
	return p.compileAhead(ctx, goRun, orchestrator.Source, dir, flags, std)
}

// compileAhead starts go list -export of pkgs and their dependencies in
// dir with flags, its go command reported as stage's, and returns what
// stops it. Stopped, it reports no error: what it compiled stays in the
// build cache, and what it did not, or failed on, is the stages' to
// compile.
func (p *pipeline) compileAhead(ctx context.Context, goRun *gocmd.Runner, stage orchestrator.Stage, dir string, flags, pkgs []string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	inStage := *goRun
	inStage.OnRun = func(r gocmd.Run) { p.ranGoIn(stage, r) }
	run := stoppable(ctx, &inStage)
	args := append(append([]string{"-e", "-deps", "-export", "-f", "{{.ImportPath}}"}, flags...), "--")
	args = append(args, pkgs...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = run.Run(ctx, gocmd.Invocation{Verb: "list", Args: args, WorkingDir: dir})
	}()
	return func() {
		cancel()
		<-done
	}
}
