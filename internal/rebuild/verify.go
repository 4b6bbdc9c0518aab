package rebuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
	"github.com/selfcompile/go-selfcompile/internal/verify"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// verify is the verify stage: the plugins new to the binary or moved
// (the plan's Added) type-checked and their registrations found, while
// beside (nil: none) compiles what the type-check needs, or the stage
// compiles it itself. It returns the reports, and plugins with each
// checked plugin registering as verify found (withConstructions), also
// when it failed.
func (p *pipeline) verify(ctx context.Context, src *sources, plan *modgen.Plan, plugins []bundle.Plugin, beside *backgroundBuild) ([]verify.Report, []bundle.Plugin, error) {
	tree, paths := src.tree, addedPaths(plan)
	checks, err := orchestrator.Do(ctx, p.orch, orchestrator.Verify, func(ctx context.Context) ([]verify.Report, error) {
		cfg := verify.Config{
			Dir: tree.Module, BuildFlags: withProfile(src.settings.flags, tree),
			RegisterFuncs: p.job.RegisterFuncs, Constructors: p.job.Constructors,
			Host: tree.MainPackage(), Installed: pluginPaths(src.manifest.Plugins),
			OnGoCommand: func(args []string, d time.Duration) {
				p.ranGo(gocmd.Run{Args: args, Dir: tree.Module, Duration: d})
			},
		}
		progress := p.progressIn(orchestrator.Verify)
		compile := func(ctx context.Context) { compileForTypeCheck(ctx, stoppable(ctx, src.goRun), cfg, paths, progress) }
		if beside != nil {
			compile = func(ctx context.Context) { beside.compiled(ctx, progress) }
		}
		return verifyPlugins(ctx, src.goroot, src.goRun, p.setPATH, cfg, paths, compile)
	})
	return checks, withConstructions(plugins, paths, checks), err
}

func pluginPaths(ps []bundle.Plugin) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	return out
}

// verifyPlugins runs verify.Plugins with the bundled go command of
// goroot, which setPATH puts first on the process's PATH meanwhile, and
// goRun's environment. Refusals are the *verify.PluginError
// values (joined) that verify.Plugins returns.
//
// The type-check compiles every dependency of the plugins that is not in
// the build cache (export data): compile compiles them, its own way
// (compileForTypeCheck, or the go build that goes beside: backgroundBuild.compiled),
// while verify runs the checks that compile nothing; it type-checks once
// compile returns (verify.Config.TypeCheck). compile's context is done
// when verify ends first: it refused every plugin, or failed.
func verifyPlugins(ctx context.Context, goroot string, goRun *gocmd.Runner, setPATH func(string) (func(), error), cfg verify.Config, paths []string, compile func(context.Context)) ([]verify.Report, error) {
	if len(paths) == 0 {
		return nil, nil // nothing to check, nothing to compile
	}
	env := goRun.Environ()
	path := filepath.Dir(toolchain.GoBin(goroot))
	if p, _ := gocmd.Lookup(env, "PATH"); p != "" {
		path += string(os.PathListSeparator) + p
	}
	cfg.Env = gocmd.Set(env, "PATH", path)
	if setPATH == nil {
		return nil, errors.New("the helper cannot put the bundled go command on its PATH for the type-check")
	}
	restore, err := setPATH(path)
	if err != nil {
		return nil, fmt.Errorf("putting the bundled go command on PATH: %w", err)
	}
	defer restore()
	cctx, stopCompile := context.WithCancel(ctx)
	compiled := make(chan struct{})
	go func() {
		defer close(compiled)
		compile(cctx)
	}()
	cfg.TypeCheck = func(ctx context.Context) error {
		select {
		case <-compiled:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	reports, err := verify.Plugins(ctx, cfg, paths)
	stopCompile()
	<-compiled
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return reports, err
}

// stoppable returns a copy of run whose go commands report no error once
// ctx is done: stopped on purpose, what they compiled stays in the build
// cache, and what they did not is for the commands that follow.
func stoppable(ctx context.Context, run *gocmd.Runner) *gocmd.Runner {
	r := *run
	report := run.OnRun
	r.OnRun = func(x gocmd.Run) {
		if ctx.Err() != nil {
			x.Err = nil
		}
		if report != nil {
			report(x)
		}
	}
	return &r
}

// compileForTypeCheck compiles what the type-check of paths needs, counting the
// packages as the go command starts them (see gocmd.RunCounted), so that
// a person sees a long type-check advance (go/packages would compile them
// silently): for a check with no build beside (a dry run). When it cannot
// list or compile, go/packages runs as it would have and reports the
// problem.
func compileForTypeCheck(ctx context.Context, goRun *gocmd.Runner, cfg verify.Config, paths []string, progress func(done, total int)) {
	// go/packages loads with -pgo=off and -buildvcs=false (golang/go#60456)
	// before the build flags, which may name a profile (withProfile).
	flags := append([]string{"-pgo=off", "-buildvcs=false"}, cfg.BuildFlags...)
	args := append([]string{"-e", "-deps", "-export", "-compiled", "-f", "{{.ImportPath}}"}, flags...)
	inv := gocmd.Invocation{Verb: "list", Args: append(append(args, "--"), paths...), WorkingDir: cfg.Dir}
	_, _ = goRun.RunCounted(ctx, inv, flags, paths, progress)
}
