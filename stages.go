package selfcompile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/modgen"
	"github.com/selfcompile/go-selfcompile/orchestrator"
	"github.com/selfcompile/go-selfcompile/smoke"
	"github.com/selfcompile/go-selfcompile/toolchain"
)

// This file holds what run.go's stages need beyond the call into the
// package that owns them: small adapters from the job to a stage's input,
// and from a stage's output to the Result.

// tools are the toolchain and the helper a rebuild runs.
type tools struct {
	goroot    string // the bundled GOROOT, installed in the cache
	helperBin string // the helper, unpacked into the work directory
}

// installTools installs the bundled toolchain into its content-addressed
// cache and unpacks the helper for this run.
func installTools(j *job) (*tools, error) {
	open := func(name string) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return j.fsys.Open(name) }
	}
	goroot, err := toolchain.Install(open(bundle.ToolchainFile), j.manifest.Parts[bundle.ToolchainFile], j.cache)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(j.work, "helper")
	if err := build.ExtractPart(j.fsys, j.manifest, bundle.HelperFile, dir); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, bundle.HelperName)
	if j.manifest.GOOS == "windows" {
		bin += ".exe"
	}
	return &tools{goroot: goroot, helperBin: bin}, nil
}

// helper is the helper process, with the bundled go first on its PATH.
func (t *tools) helper(goRun *gocmd.Runner, dir string) helper.Helper {
	env := goRun.Environ()
	path, _ := gocmd.Lookup(env, "PATH")
	bin := filepath.Dir(toolchainGo(t.goroot))
	if path != "" {
		bin += string(os.PathListSeparator) + path
	}
	return helper.Helper{Bin: t.helperBin, Env: append(env, "PATH="+bin), Dir: dir}
}

func toolchainGo(goroot string) string { return toolchain.GoBin(goroot) }

// output is where the build writes the new binary: in the work directory,
// staged beside the target only by the swap.
func (j *job) output() string {
	return filepath.Join(j.work, "out", filepath.Base(j.target))
}

// backups is how many backups the swap keeps: none when writing to
// Options.Output, a file of the caller's rather than an executable to
// roll back.
func (j *job) backups(n int) int {
	if !j.swapping {
		return -1
	}
	return n
}

func addedPaths(plan *modgen.Plan) []string {
	var paths []string
	for _, a := range plan.Added {
		paths = append(paths, a.Path)
	}
	return paths
}

// smokeConfig is what the new binary must report: every plugin of the new
// set, and, when the host reports registrations, one more registration
// for each plugin new to the binary (a re-pinned one registered before).
func smokeConfig(o Options, installed []Plugin, plan *modgen.Plan) smoke.Config {
	cfg := smoke.Config{Env: smokeEnv(), Timeout: o.SmokeTimeout, Want: plan.Plugins, Args: o.SmokeArgs}
	if before, ok := registrationsNow(); ok {
		cfg.Before = before
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

// notePlan puts what modgen learned into the Result, even when it failed.
func (p *pipeline) notePlan(plan *modgen.Plan) {
	if plan == nil {
		return
	}
	for _, w := range plan.Warnings {
		p.warn("%s", w)
	}
	for _, a := range plan.Added {
		p.res.Added = append(p.res.Added, Plugin{Path: a.Path, Module: a.Module, Version: a.Version, Query: a.Spec.Query, Dir: a.Dir})
	}
	p.res.Drift = plan.Drift
	for _, d := range plan.Drift {
		p.progress("selfcompile: drift: %v\n", d)
	}
}

// installed records a finished swap: in the Result, and for a later Run
// in this process, which must start from the binary now in place.
func (p *pipeline) installed(j *job, out *build.Output, backup string) {
	p.res.Binary, p.res.Backup = j.target, backup
	p.res.Plugins = out.Manifest.Plugins
	if !j.swapping {
		return
	}
	installedExe(j.target)
	if err := installedBundle(out.BundleDir, out.Manifest); err != nil {
		p.warn("a second rebuild from this process will start from its original bundle: %v", err)
	}
}

// nothingToDo fills the Result of a run that prepare found had nothing to do.
func (p *pipeline) nothingToDo(j *job) {
	if j == nil || j.noop == "" {
		return
	}
	p.res.Plugins = Installed()
	p.warn("%s", j.noop)
}

// removeWork is the cleanup of the work directory: kept, and named, when
// the run failed and Options.KeepWorkDir asks for it.
func (p *pipeline) removeWork(work string) error {
	if p.res.Binary == "" && p.opts.KeepWorkDir {
		return fmt.Errorf("work directory kept for inspection: %s", work)
	}
	return srctree.RemoveAll(work)
}

func (p *pipeline) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.res.Warnings = append(p.res.Warnings, msg)
	p.progress("selfcompile: warning: %s\n", msg)
}

func (p *pipeline) progress(format string, args ...any) {
	if p.opts.Progress != nil {
		fmt.Fprintf(p.opts.Progress, format, args...)
	}
}

func (p *pipeline) onEvent(e Event) {
	if p.opts.OnEvent != nil {
		p.opts.OnEvent(e)
	}
	switch e.Kind {
	case orchestrator.StageDone:
		p.progress("selfcompile: %-9s done in %v\n", e.Stage, e.Duration.Round(time.Millisecond))
	case orchestrator.StageFailed:
		p.progress("selfcompile: %-9s FAILED after %v\n", e.Stage, e.Duration.Round(time.Millisecond))
	}
}
