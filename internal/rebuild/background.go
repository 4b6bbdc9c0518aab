package rebuild

import (
	"context"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// background owns the work a rebuild does beside its stages, which is
// what makes a first rebuild of a large host fast: the processors compile
// while a stage waits on the disk or the network. Each job has its start
// and its stop here, and the stages' order in run says when each runs:
//
//   - the standard packages are compiled while source unpacks the modules
//     on a first rebuild (startStdWarmUp, stopStdWarmUp);
//   - the parts the new bundle carries on unchanged are copied from source
//     on (startKeptCopy), waited for by the build and by stop;
//   - the host's packages are compiled while modgen waits on the network
//     on a first rebuild (startHostWarmUp, stopHostWarmUp);
//   - the build's go build runs beside verify, which waits for it to have
//     compiled what the type-check needs (startBuild, stopBuild).
//
// What a warm-up compiled stays in the build cache for the build; what it
// did not, or failed on, is the stages' to compile. stop ends them all.
type background struct {
	p          *pipeline
	stdWarmUp  func() // stops the standard packages' warm-up
	hostWarmUp func() // stops the host packages' warm-up
	kept       *build.KeptParts
	build      *backgroundBuild
}

func newBackground(p *pipeline) *background {
	return &background{p: p, stdWarmUp: func() {}, hostWarmUp: func() {}}
}

// stop ends every job that still runs and waits for them, the copy of
// the kept parts last, so that nothing is written into the work directory
// once the rebuild returns.
func (b *background) stop() {
	b.stopBuild()
	b.stopStdWarmUp()
	b.stopHostWarmUp()
	if b.kept != nil {
		_, _ = b.kept.Wait()
	}
}

// startStdWarmUp starts compiling the standard packages std with the
// build's flags, in dir, outside the host module (their compiled forms do
// not depend on one, and it needs no module of it): for the time a first
// rebuild unpacks the modules, which leaves the processors idle. A bundle
// that names none starts nothing.
func (b *background) startStdWarmUp(ctx context.Context, goRun *gocmd.Runner, dir string, flags, std []string) {
	if len(std) == 0 {
		return
	}
	b.stdWarmUp = b.p.compileIntoCache(ctx, goRun, orchestrator.Source, dir, flags, std)
}

func (b *background) stopStdWarmUp() {
	b.stdWarmUp()
	b.stdWarmUp = func() {}
}

// startKeptCopy starts copying the parts of the bundle in fsys that the
// new bundle carries on unchanged into dir (build.CopyKeptParts); the
// build takes them (build.Input.Kept).
func (b *background) startKeptCopy(fsys fs.FS, m *bundle.Manifest, dir string) *build.KeptParts {
	b.kept = build.CopyKeptParts(fsys, m, dir)
	return b.kept
}

// startHostWarmUp starts compiling the host's main package and its
// dependencies as the bundle has them, with the build's flags: for the
// time modgen spends on the network on a first rebuild, when nothing of
// the program is compiled yet. What it compiled stays in the build cache
// for the build (all of it but what the plugins move). It reads a copy of
// go.mod and go.sum (-modfile), as modgen rewrites them meanwhile, and
// changes neither (-mod=readonly). A module modgen completes under it
// holds the same files as before and more, so nothing it compiles
// differs; a package it fails on is left to the stages.
func (b *background) startHostWarmUp(ctx context.Context, goRun *gocmd.Runner, tree *build.Tree, work string, flags []string) {
	modFile := filepath.Join(work, "warmup.mod")
	if err := gocmd.CopyModFile(tree.Module, modFile); err != nil {
		return // the stages compile it all
	}
	args := append([]string{"-mod=readonly", "-modfile=" + modFile}, flags...)
	b.hostWarmUp = b.p.compileIntoCache(ctx, goRun, orchestrator.Modgen, tree.Module, args, []string{tree.MainPackage()})
}

func (b *background) stopHostWarmUp() {
	b.hostWarmUp()
	b.hostWarmUp = func() {}
}

// startBuild starts the build of in (see backgroundBuild), after stopping
// one started before. Its go commands and progress are reported as the
// build stage's.
func (b *background) startBuild(ctx context.Context, in build.Input) *backgroundBuild {
	b.stopBuild()
	b.build = b.p.startBuild(ctx, in)
	return b.build
}

// stopBuild ends the build if it still runs and waits for it to have
// ended.
func (b *background) stopBuild() {
	if b.build != nil {
		b.build.stop()
	}
}

// compileIntoCache starts go list -export of pkgs and their dependencies
// in dir with flags, its go command reported as stage's, and returns what
// stops it. Stopped, it reports no error: what it compiled stays in the
// build cache, and what it did not, or failed on, is the stages' to
// compile.
func (p *pipeline) compileIntoCache(ctx context.Context, goRun *gocmd.Runner, stage orchestrator.Stage, dir string, flags, pkgs []string) (stop func()) {
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

// backgroundBuild is the build stage's work, started before the stage so
// that it overlaps the verify stage: its preparation (the plugin imports,
// the new bundle) and its go build at once. The go build compiles what
// the plugins' type-check needs, as a plain go build would, in one go
// command: verify waits for it to have compiled every package but the
// host's main one (compiled) and type-checks from that export data while
// the go build goes on with the main package and the link. The build
// stage then waits for it (wait). Nothing it makes is used unless verify
// passes: a refusal stops it (stop), and its files lie in the work
// directory.
type backgroundBuild struct {
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

// startBuild starts the build of in; see background.startBuild.
func (p *pipeline) startBuild(ctx context.Context, in build.Input) *backgroundBuild {
	ctx, cancel := context.WithCancel(ctx)
	e := &backgroundBuild{cancel: cancel, done: make(chan struct{}), deps: make(chan struct{}), report: p.progressIn(orchestrator.Build)}
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
// verify waits on it.
func (e *backgroundBuild) compiled(ctx context.Context, progress func(done, total int)) {
	e.count.mirror(progress)
	defer e.count.mirror(nil)
	select {
	case <-e.deps:
	case <-ctx.Done():
	}
}

// wait is the build stage: it reports the go build's progress from now
// on, and waits for it.
func (e *backgroundBuild) wait(ctx context.Context) (*build.Output, error) {
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
func (e *backgroundBuild) stop() {
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
