package rebuild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/proc"
	"github.com/selfcompile/go-selfcompile/modgen"
	"github.com/selfcompile/go-selfcompile/orchestrator"
	"github.com/selfcompile/go-selfcompile/toolchain"
	"github.com/selfcompile/go-selfcompile/verify"
)

// verifyRequest asks a copy of the helper for verify.Plugins(ctx, Config,
// Paths). Config.Env is not sent: that helper's environment is the go
// command's.
type verifyRequest struct {
	Config verify.Config `json:"config"`
	Paths  []string      `json:"paths"`
}

// verifyResponse is what verify.Plugins returned: the reports of the
// plugins that passed and the refusals of the others.
type verifyResponse struct {
	Reports []verify.Report      `json:"reports"`
	Refused []verify.PluginError `json:"refused,omitempty"`
	// Setting is a host setting that names nothing; Error is any other
	// failure that is not a plugin's refusal.
	Setting *verify.SettingError `json:"setting,omitempty"`
	Error   string               `json:"error,omitempty"`
	// Commands are the go commands go/packages ran.
	Commands []goCommand `json:"commands,omitempty"`
}

// goCommand is one go command run by go/packages in the copy of the
// helper.
type goCommand struct {
	Args     []string      `json:"args"`
	Duration time.Duration `json:"duration"`
}

// verifyArg is the argument of the helper verb that makes the helper
// answer one verify request, in JSON: the protocol between two copies of
// the helper, which the host never speaks.
const verifyArg = "verify"

// verify is the verify stage: the plugins new to the binary or moved
// (the plan's Added) type-checked and their registrations found, while
// beside (nil: none) compiles what the type-check needs, or the stage
// compiles it itself. It returns the reports, and plugins with each
// checked plugin registering as verify found (withConstructions), also
// when it failed.
func (p *pipeline) verify(ctx context.Context, src *sources, plan *modgen.Plan, plugins []bundle.Plugin, beside *backgroundBuild) ([]verify.Report, []bundle.Plugin, error) {
	tree, paths := src.tree, addedPaths(plan)
	checks, err := orchestrator.Do(ctx, p.orch, stageVerify, func(ctx context.Context) ([]verify.Report, error) {
		cfg := verify.Config{
			Dir: tree.Module, BuildFlags: withProfile(src.settings.flags, tree),
			RegisterFuncs: p.job.RegisterFuncs, Constructors: p.job.Constructors,
			Host: tree.MainPackage(), Installed: pluginPaths(src.manifest.Plugins),
			OnGoCommand: func(args []string, d time.Duration) {
				p.ranGo(gocmd.Run{Args: args, Dir: tree.Module, Duration: d})
			},
		}
		progress := p.progressIn(stageVerify)
		compile := func(ctx context.Context) { precompile(ctx, stoppable(ctx, src.goRun), cfg, paths, progress) }
		if beside != nil {
			compile = func(ctx context.Context) { beside.compiled(ctx, progress) }
		}
		return verifyPlugins(ctx, src.goroot, src.goRun, cfg, paths, compile)
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

// verifyPlugins runs verify.Plugins in a copy of this helper started with
// the bundled go first on its PATH: go/packages runs the go command found
// on the process's PATH, and even a helper does not change its own
// environment while it runs. Refusals come back as the *verify.PluginError
// values (joined) that verify.Plugins returns. The go commands
// go/packages ran are passed to cfg.OnGoCommand when it returns.
//
// The type-check compiles every dependency of the plugins that is not in
// the build cache (export data): compile compiles them, its own way
// (precompile, or the go build that goes beside: backgroundBuild.compiled),
// while the copy runs the checks that compile nothing; the copy
// type-checks once compile returns (verify.Config.TypeCheck: the end of
// its standard input). compile's context is done when the copy ends first.
func verifyPlugins(ctx context.Context, goroot string, goRun *gocmd.Runner, cfg verify.Config, paths []string, compile func(context.Context)) ([]verify.Report, error) {
	if len(paths) == 0 {
		return nil, nil // nothing to check: no process to start
	}
	onGo := cfg.OnGoCommand
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the helper to type-check in: %w", err)
	}
	env := goRun.Environ()
	path := filepath.Dir(toolchain.GoBin(goroot))
	if p, _ := gocmd.Lookup(env, "PATH"); p != "" {
		path += string(os.PathListSeparator) + p
	}
	cfg.Env, cfg.OnGoCommand = nil, nil
	in, err := json.Marshal(verifyRequest{Config: cfg, Paths: paths})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, helper.Verb, verifyArg)
	cmd.Dir = cfg.Dir
	cmd.Env = gocmd.Set(env, "PATH", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	proc.Isolate(cmd)
	cmd.Cancel = func() error { return proc.Interrupt(cmd) }
	cmd.WaitDelay = 3 * time.Second
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("type-checking in %s: %w", exe, err)
	}
	// The copy reads the request and runs the checks that compile nothing
	// while compile compiles; a copy that has ended already (it could not
	// load) makes these writes fail, and says why below.
	_, _ = stdin.Write(in)
	// It ends before compile does when those checks refused every plugin
	// (or it failed): compile is then stopped, not waited for.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	cctx, stopCompile := context.WithCancel(ctx)
	compiled := make(chan struct{})
	go func() {
		defer close(compiled)
		compile(cctx)
	}()
	select {
	case <-compiled:
		_ = stdin.Close()
		err = <-exited
	case err = <-exited:
	}
	stopCompile()
	<-compiled
	_ = proc.Kill(cmd)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var resp verifyResponse
	if derr := json.Unmarshal(stdout.Bytes(), &resp); derr != nil {
		if err == nil {
			err = derr
		}
		return nil, fmt.Errorf("type-checking in %s: %v\n%s", exe, err, strings.TrimSpace(stderr.String()))
	}
	if onGo != nil {
		for _, c := range resp.Commands {
			onGo(c.Args, c.Duration)
		}
	}
	if resp.Setting != nil {
		return nil, resp.Setting
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	var errs []error
	for i := range resp.Refused {
		errs = append(errs, &resp.Refused[i])
	}
	if len(errs) == 1 {
		return resp.Reports, errs[0]
	}
	return resp.Reports, errors.Join(errs...)
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

// precompile compiles what the type-check of paths needs, counting the
// packages as the go command starts them (see gocmd.RunCounted), so that
// a person sees a long type-check advance (go/packages would compile them
// silently): for a check with no build beside (a dry run). When it cannot
// list or compile, go/packages runs as it would have and reports the
// problem.
func precompile(ctx context.Context, goRun *gocmd.Runner, cfg verify.Config, paths []string, progress func(done, total int)) {
	// go/packages loads with -pgo=off and -buildvcs=false (golang/go#60456)
	// before the build flags, which may name a profile (withProfile).
	flags := append([]string{"-pgo=off", "-buildvcs=false"}, cfg.BuildFlags...)
	args := append([]string{"-e", "-deps", "-export", "-compiled", "-f", "{{.ImportPath}}"}, flags...)
	inv := gocmd.Invocation{Verb: "list", Args: append(append(args, "--"), paths...), WorkingDir: cfg.Dir}
	_, _ = goRun.RunCounted(ctx, inv, flags, paths, progress)
}

// serveVerify answers a verify request, in the copy of the helper.
func serveVerify(ctx context.Context, r io.Reader, w io.Writer) error {
	var req verifyRequest
	var resp verifyResponse
	dec := json.NewDecoder(r)
	if err := dec.Decode(&req); err != nil {
		resp.Error = fmt.Sprintf("helper: reading the verify request: %v", err)
		return json.NewEncoder(w).Encode(resp)
	}
	req.Config.OnGoCommand = func(args []string, d time.Duration) {
		resp.Commands = append(resp.Commands, goCommand{Args: args, Duration: d})
	}
	// The end of the input says that what the type-check needs is
	// compiled (see verifyPlugins).
	req.Config.TypeCheck = func(context.Context) error {
		_, err := io.Copy(io.Discard, io.MultiReader(dec.Buffered(), r))
		return err
	}
	reports, err := verify.Plugins(ctx, req.Config, req.Paths)
	resp.Reports = reports
	refused, ok := verify.Refusals(err)
	if !ok {
		resp = verifyResponse{Error: err.Error(), Commands: resp.Commands}
		errors.As(err, &resp.Setting)
	}
	for _, pe := range refused {
		resp.Refused = append(resp.Refused, *pe)
	}
	return json.NewEncoder(w).Encode(resp)
}
