package rebuild

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/signature"
	"github.com/selfcompile/go-selfcompile/internal/tcache"
	"github.com/selfcompile/go-selfcompile/modgen"
	"github.com/selfcompile/go-selfcompile/orchestrator"
	"github.com/selfcompile/go-selfcompile/smoke"
	"github.com/selfcompile/go-selfcompile/toolchain"
	"github.com/selfcompile/go-selfcompile/verify"
)

// run runs the stages that make the new binary and reports each stage's
// start and end, and every warning, on w as it happens. The outcome holds
// what the stages learned, also when one failed.
func run(ctx context.Context, job *helper.Job, w *helper.Writer) *outcome {
	p := &pipeline{job: job, out: &outcome{}, w: w}
	p.orch = &orchestrator.Runner{OnStart: p.started, OnEnd: p.ended}
	if err := p.run(ctx); err != nil {
		p.out.Err = failed("", err).Err
	}
	return p.out
}

// pipeline is one rebuild in the helper.
type pipeline struct {
	job  *helper.Job
	out  *outcome
	w    *helper.Writer
	orch *orchestrator.Runner
	// stage is the stage running, which go commands are reported for
	// unless they say which (ranGoIn); mu guards it, for the early build
	// (see startBuild) runs beside the stages.
	mu    sync.Mutex
	stage orchestrator.Stage
}

// run is the helper's part of the pipeline; see the README's drawing.
func (p *pipeline) run(ctx context.Context) error {
	job, r := p.job, p.orch
	specs, err := parseSpecs(job.Plugins, job.Remove)
	if err != nil {
		return &orchestrator.StageError{Stage: orchestrator.Prepare, Err: err}
	}
	fsys := os.DirFS(job.Bundle)
	m, err := bundle.ReadManifest(fsys)
	if err != nil {
		return &orchestrator.StageError{Stage: orchestrator.Prepare, Err: err}
	}
	if err := checkFresh(m, job.Settings); err != nil {
		return &orchestrator.StageError{Stage: orchestrator.Prepare, Err: err}
	}
	s := newSettings(job, p.warn)
	// A signature made with the publisher's identity is not the linker's
	// to make: say so before the work, not after.
	if sig := signature.Lost(job.Previous); sig != "" {
		p.warn("%s", signature.Warning(sig))
	}
	goroot, err := orchestrator.Do(ctx, r, orchestrator.Toolchain, func(context.Context) (string, error) {
		if m.Slim != nil {
			// The host fetched it (package slim); check it is still the
			// one it installed.
			goroot, ok := tcache.Installed(job.Cache, m.Slim.ToolchainSum)
			if !ok || goroot != job.GOROOT {
				return "", fmt.Errorf("the fetched toolchain %s is not in the cache as it was installed: run again to fetch it anew", job.GOROOT)
			}
			return goroot, nil
		}
		goroot, repaired, err := toolchain.Install(opener(fsys, bundle.ToolchainFile), m.Parts[bundle.ToolchainFile], job.Cache)
		if repaired != "" {
			p.warn("%s", repaired)
		}
		if err != nil {
			return "", err
		}
		toolchain.Prune(job.Cache, goroot, time.Now().Add(-toolchain.StaleAfter))
		// Compiled standard packages the bundle carries (bundle -prewarm).
		if _, err := build.Prewarm(fsys, m, filepath.Join(job.Cache, "gocache")); err != nil {
			p.warn("the standard packages will be compiled: the bundle's compiled ones could not be added to the build cache: %v", err)
		}
		return goroot, nil
	})
	if err != nil {
		return err
	}
	p.out.Result.GoVersion = m.GoVersion
	var fresh bool
	modCache := job.ModCache
	if modCache == "" {
		modCache = filepath.Join(job.Work, "mod")
	}
	tree, err := orchestrator.Do(ctx, r, orchestrator.Source, func(ctx context.Context) (*build.Tree, error) {
		stop := func() {}
		tree, reused, err := build.Unpack(fsys, m, job.Work, modCache, func(t *build.Tree) {
			// A first rebuild of this program here: the modules are
			// unpacked anew, a disk-bound wait. The standard packages
			// need none of them, unless the build uses a profile (PGO):
			// compiled outside the module they are then not what the
			// build compiles, even with the profile named.
			if profile(s.flags, t) == "" {
				stop = p.warmUpStd(ctx, s.goRunner(goroot, modCache), job.Work, s.flags, m.StdPackages)
			}
		})
		stop()
		fresh = !reused
		return tree, err
	})
	if err != nil {
		return err
	}
	var kept *build.KeptParts
	if !job.DryRun && m.Slim == nil {
		// The new bundle's unchanged parts are copied meanwhile; the
		// run waits for the copy to end before it returns, so that
		// nothing is written into the work directory after it.
		kept = build.CopyKeptParts(fsys, m, tree.MainDir)
		defer kept.Wait()
	}
	goRun := s.goRunner(goroot, tree.ModCache)
	goRun.OnRun = p.ranGo
	sumBefore, _ := os.ReadFile(filepath.Join(tree.Module, "go.sum"))
	download := s.downloadRunner(goroot)
	download.OnRun = p.ranGo
	completer := &build.Completer{Go: download, ModCache: tree.ModCache, GoSum: sumBefore, Warn: p.warn}
	stopWarmUp := func() {}
	if fresh {
		// A module cache unpacked anew: this program was not rebuilt
		// here, and its packages are not compiled yet. Compile the host's
		// own while modgen waits on the network.
		stopWarmUp = p.warmUp(ctx, goRun, tree, job.Work, s.flags)
	}
	plan, err := orchestrator.Do(ctx, r, orchestrator.Modgen, func(ctx context.Context) (*modgen.Plan, error) {
		plan, err := modgen.MakePlan(ctx, modgen.Request{
			Go: goRun, Dir: tree.Module, HostModule: m.Module, HostVersion: job.HostVersion,
			Installed: m.Plugins, Specs: specs, Remove: job.Remove, BaseDir: job.Dir,
			LocalStore: tree.LocalStore(), BuildFlags: s.flags, HostPackages: tree.HostPackages(),
			RefuseRetracted: job.RefuseRetracted, Policy: modgen.DriftPolicy(job.DriftPolicy),
			Trimmed: completer,
		})
		if err == nil {
			err = plan.CheckAllowedModules(job.Allow)
		}
		if err == nil && len(plan.Listed) > 0 {
			// The host's own setting, before any plugin is checked
			// against it or anything is built for it.
			err = verify.CheckRegisterFuncs(job.RegisterFuncs, listedFiles(plan.Listed))
		}
		if err == nil {
			err = p.checkSums(sumBefore, filepath.Join(tree.Module, "go.sum"), goRun.Environ())
		}
		return plan, err
	})
	stopWarmUp()
	p.notePlan(plan)
	if err != nil {
		return err
	}
	// The build goes beside verify, which a refusal ends, and compiles
	// what verify's type-check needs (see earlyBuild). The preparation
	// lists nothing and completes no module when modgen listed for it,
	// as it does when there are plugins to check, so nothing changes the
	// module cache under verify's go commands.
	var early *earlyBuild
	in := build.Input{
		Go: goRun, Tree: tree, Bundle: fsys, Manifest: m,
		Plugins: keepConstructions(plan.Plugins, m.Plugins), Graph: plan.Graph, Flags: s.flags, Trimmed: completer, Listed: plan.Listed, Kept: kept,
		Output: job.Output,
		Record: &bundle.Rebuild{GoVersion: m.GoVersion, Settings: s.record(), Drift: plan.Drift, Previous: previousSHA256(job.Previous)},
	}
	paths := addedPaths(plan)
	defer func() {
		if early != nil {
			early.stop()
		}
	}()
	// A plugin new to a host that takes constructors may be one: the
	// plugins file then waits for verify to choose its call, and verify
	// compiles what its type-check needs itself, so that the main
	// package is compiled and linked once, after it.
	if !job.DryRun && !mayConstruct(job.Constructors, paths, m.Plugins) {
		early = p.startBuild(ctx, in)
	}
	checks, err := orchestrator.Do(ctx, r, orchestrator.Verify, func(ctx context.Context) ([]verify.Report, error) {
		cfg := verify.Config{
			Dir: tree.Module, BuildFlags: withProfile(s.flags, tree),
			RegisterFuncs: job.RegisterFuncs, Constructors: job.Constructors,
			Host: tree.MainPackage(), Installed: pluginPaths(m.Plugins),
			OnGoCommand: func(args []string, d time.Duration) {
				p.ranGo(gocmd.Run{Args: args, Dir: tree.Module, Duration: d})
			},
		}
		progress := p.progressIn(orchestrator.Verify)
		compile := func(ctx context.Context) { precompile(ctx, stoppable(ctx, goRun), cfg, paths, progress) }
		if early != nil {
			compile = func(ctx context.Context) { early.compiled(ctx, progress) }
		}
		return verifyPlugins(ctx, goroot, goRun, cfg, paths, compile)
	})
	p.out.Result.Checks = wireChecks(checks)
	plugins := withConstructions(in.Plugins, paths, checks)
	p.out.Result.Plugins = plugins
	if err != nil || job.DryRun {
		return err
	}
	switch {
	case early == nil:
		in.Plugins = plugins
		early = p.startBuild(ctx, in)
	case !slices.Equal(plugins, in.Plugins):
		// A plugin registers otherwise than its record said: the build
		// started with the wrong call. What it compiled stays in the
		// build cache; the main package is compiled and linked again.
		early.stop()
		in.Plugins, in.Kept = plugins, nil
		early = p.startBuild(ctx, in)
	}
	built, err := orchestrator.Do(ctx, r, orchestrator.Build, early.wait)
	if err != nil {
		return err
	}
	if err := build.Seal(tree, built.Manifest); err != nil {
		p.warn("the next rebuild will unpack the modules again: %v", err)
	}
	p.out.Result.Binary, p.out.BundleDir, p.out.Result.Plugins = built.Binary, built.BundleDir, built.Manifest.Plugins
	// No go command of this helper runs from here on (the build ended,
	// the warm-ups were stopped and waited for): smoke.Check, in this
	// child subreaper, kills every child the helper gains meanwhile as
	// an orphan of the new binary.
	rep, err := orchestrator.Do(ctx, r, orchestrator.Smoke, func(ctx context.Context) (*smoke.Report, error) {
		return smoke.Check(ctx, built.Binary, smokeConfig(job, m.Plugins, built.Manifest.Plugins, plan))
	})
	if rep != nil {
		p.out.Result.Smoke = &selfcompile.SmokeReport{GoVersion: rep.GoVersion, Plugins: rep.Plugins, Registered: rep.Registered}
	}
	return err
}

// checkFresh refuses to rebuild from a bundle made from other sources
// than the running binary: built after an edit without go generate, the
// binary would lose that edit in every rebuild. The binary's VCS stamp
// (settings) is compared with the tree the bundle was made from (see
// bundle.SourceStamp.Stale).
func checkFresh(m *bundle.Manifest, settings []helper.Setting) error {
	why := m.Source.StaleFrom(func(key string) string {
		for _, s := range settings {
			if s.Key == key {
				return s.Value
			}
		}
		return ""
	})
	if why != "" {
		return &staleError{why}
	}
	return nil
}

// listedFiles is verify.CheckRegisterFuncs' look-up of a package's Go
// files in modgen's listing of the build.
func listedFiles(listed []modgen.Listed) func(string) ([]string, bool) {
	byPath := make(map[string]modgen.Listed, len(listed))
	for _, l := range listed {
		byPath[l.ImportPath] = l
	}
	return func(path string) ([]string, bool) {
		l, ok := byPath[path]
		var files []string
		for _, name := range slices.Concat(l.GoFiles, l.CgoFiles) {
			files = append(files, filepath.Join(l.Dir, name))
		}
		return files, ok
	}
}

// staleError is a bundle made from other sources than the running
// binary: refused, for no rebuild of this binary can keep its changes.
type staleError struct{ why string }

func (e *staleError) Error() string {
	return fmt.Sprintf("this binary's bundle is stale (%s): its changes would be lost; build it again after go generate (go-selfcompile bundle -check tells)", e.why)
}

// withProfile returns the build's flags with the profile for
// profile-guided optimisation that go build's default -pgo=auto takes
// (see profile) named, for go/packages, which loads with -pgo=off unless
// a later flag says otherwise: so that the plugins' type-check reads what
// the build compiled instead of compiling every dependency again without
// the profile.
func withProfile(flags []string, tree *build.Tree) []string {
	if p := profile(flags, tree); p != "" {
		return append(slices.Clone(flags), "-pgo="+p)
	}
	return flags
}

// profile is the profile the build with flags uses for profile-guided
// optimisation: the one -pgo names, or with -pgo=auto (the default) the
// main package's default.pgo; empty for none.
func profile(flags []string, tree *build.Tree) string {
	pgo := "auto"
	for _, f := range flags {
		if v, ok := strings.CutPrefix(f, "-pgo="); ok {
			pgo = v
		}
	}
	switch pgo {
	case "off", "":
		return ""
	case "auto":
		p := filepath.Join(tree.MainDir, "default.pgo")
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	return pgo
}

// smokeConfig is what the new binary must report: every plugin of the new
// set, and, when the host reports registrations, one more registration
// for each plugin new to the binary (a re-pinned one registered before).
func smokeConfig(job *helper.Job, installed, want []bundle.Plugin, plan *modgen.Plan) smoke.Config {
	cfg := smoke.Config{Env: smokeEnv(), Timeout: job.SmokeTimeout, Want: want, Args: job.SmokeArgs}
	if job.ReportsRegistrations {
		cfg.Before = append([]string{}, job.Registrations...)
		for _, a := range plan.Added {
			if indexPlugin(installed, a.Path) < 0 {
				cfg.Added = append(cfg.Added, a.Path)
			}
		}
	}
	return cfg
}

// smokeEnv is the clean environment the new binary starts in.
func smokeEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// notePlan puts what modgen learned into the outcome, even when it failed.
func (p *pipeline) notePlan(plan *modgen.Plan) {
	if plan == nil {
		return
	}
	for _, w := range plan.Warnings {
		p.warn("%s", w)
	}
	for _, a := range plan.Added {
		p.out.Result.Added = append(p.out.Result.Added, a.Plugin())
	}
	for i := range plan.Drift {
		_ = p.w.Send(selfcompile.Event{Kind: selfcompile.DriftFound, Drift: &plan.Drift[i]})
	}
}

// checkSums warns of every module the plugins brought that the checksum
// database did not check, naming the setting that caused it, or refuses
// them when the job requires the check.
func (p *pipeline) checkSums(before []byte, gosum string, env []string) error {
	after, err := os.ReadFile(gosum)
	if err != nil {
		return nil // no go.sum: nothing was fetched
	}
	unchecked := modgen.UncheckedModules(before, after, env)
	if len(unchecked) > 0 && p.job.RequireChecksumDB {
		var what []string
		for _, u := range unchecked {
			what = append(what, u.String())
		}
		return &modgen.SpecError{Spec: strings.Join(p.job.Plugins, " "), Msg: strings.Join(what, "; ") + ": this program requires every new module to be checked; unset that setting for these modules", Err: modgen.ErrUnchecked}
	}
	for _, u := range unchecked {
		p.warn("%s", u)
	}
	return nil
}

// previousSHA256 is the sha256 of the binary that ran the rebuild, for
// its record; empty when it cannot be read.
func previousSHA256(name string) string {
	p, err := archive.FilePart(name)
	if err != nil {
		return ""
	}
	return p.SHA256
}

// keepConstructions returns plugins with the constructor and registration
// function that installed records for each plugin installed before, as
// the build's first guess: verify decides (withConstructions).
func keepConstructions(plugins, installed []bundle.Plugin) []bundle.Plugin {
	out := slices.Clone(plugins)
	for i, pl := range out {
		if j := indexPlugin(installed, pl.Path); j >= 0 && pl.Constructor == "" {
			out[i].Constructor, out[i].Register = installed[j].Constructor, installed[j].Register
		}
	}
	return out
}

// mayConstruct reports whether a plugin of paths may register through a
// constructor that verify has yet to choose: the host takes constructors
// and the plugin is new to the binary (installed is what it has).
func mayConstruct(ctors, paths []string, installed []bundle.Plugin) bool {
	if len(ctors) == 0 {
		return false
	}
	for _, p := range paths {
		if indexPlugin(installed, p) < 0 {
			return true
		}
	}
	return false
}

// withConstructions returns plugins with each checked plugin of paths
// registered as verify found: through its constructor, or by its init
// code.
func withConstructions(plugins []bundle.Plugin, paths []string, checks []verify.Report) []bundle.Plugin {
	out := slices.Clone(plugins)
	for i, pl := range out {
		if !slices.Contains(paths, pl.Path) {
			continue
		}
		out[i].Constructor, out[i].Register = "", ""
		for _, c := range checks {
			if c.Path == pl.Path && c.Constructor != nil {
				out[i].Constructor, out[i].Register = c.Constructor.Func, c.Constructor.Register
			}
		}
	}
	return out
}

func pluginPaths(ps []bundle.Plugin) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	return out
}

func addedPaths(plan *modgen.Plan) []string {
	var paths []string
	for _, a := range plan.Added {
		paths = append(paths, a.Path)
	}
	return paths
}

func (p *pipeline) warn(format string, args ...any) {
	_ = p.w.Send(selfcompile.Event{Kind: selfcompile.WarningRaised, Message: fmt.Sprintf(format, args...)})
}

// started and ended report a stage to the host.
func (p *pipeline) started(s orchestrator.Stage) {
	p.mu.Lock()
	p.stage = s
	p.mu.Unlock()
	_ = p.w.Send(selfcompile.Event{Kind: selfcompile.StageStarted, Stage: s})
}

func (p *pipeline) ended(s orchestrator.Stage, d time.Duration, err error) {
	e := selfcompile.Event{Kind: selfcompile.StageDone, Stage: s, Duration: d}
	if err != nil {
		e.Kind, e.Err = selfcompile.StageFailed, err
	}
	_ = p.w.Send(e)
}

// progressIn returns what reports how many packages stage compiled so
// far.
func (p *pipeline) progressIn(stage orchestrator.Stage) func(done, total int) {
	return func(done, total int) {
		_ = p.w.Send(selfcompile.Event{Kind: selfcompile.StageProgress, Stage: stage, Done: done, Total: total})
	}
}

// ranGo reports a go command run by the running stage.
func (p *pipeline) ranGo(r gocmd.Run) { p.ranGoIn(p.current(), r) }

// ranGoIn reports a go command run by stage.
func (p *pipeline) ranGoIn(stage orchestrator.Stage, r gocmd.Run) {
	_ = p.w.Send(selfcompile.Event{Kind: selfcompile.GoCommandRan, Stage: stage, Args: r.Args, Dir: r.Dir, Duration: r.Duration, Err: r.Err})
}

// current is the stage running.
func (p *pipeline) current() orchestrator.Stage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stage
}

func opener(fsys fs.FS, name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return fsys.Open(name) }
}
