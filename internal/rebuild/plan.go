package rebuild

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/verify"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// plan is the modgen stage: the plugins' versions resolved and written
// into the unpacked module's go.mod and go.sum, and what that may not do
// refused. The plan is returned also when the stage failed, for what it
// learned.
func (p *pipeline) plan(ctx context.Context, src *sources) (*modgen.Plan, error) {
	job, tree := p.job, src.tree
	return orchestrator.Do(ctx, p.orch, orchestrator.Modgen, func(ctx context.Context) (*modgen.Plan, error) {
		if err := checkGoLine(tree.GoMod, src.switched); err != nil {
			return nil, err
		}
		plan, err := modgen.MakePlan(ctx, modgen.Request{
			Go: src.goRun, Dir: tree.Module, HostModule: src.manifest.Module, HostVersion: job.HostVersion,
			Installed: src.manifest.Plugins, Specs: src.specs, Remove: job.Remove, BaseDir: job.Dir,
			LocalStore: tree.LocalStore(), BuildFlags: src.settings.flags, HostPackages: tree.HostPackages(),
			RefuseRetracted: job.RefuseRetracted, Policy: modgen.DriftPolicy(job.DriftPolicy),
			Trimmed:   src.completer,
			GoVersion: src.goVersion(), Toolchain: job.Toolchain, BundledGo: src.manifest.GoVersion,
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
			err = p.checkSums(src.sumBefore, filepath.Join(tree.Module, "go.sum"), src.goRun.Environ())
		}
		return plan, err
	})
}

// listedFiles is verify.CheckRegisterFuncs' look-up of a package's Go
// files in modgen's listing of the build.
func listedFiles(listed []gocmd.Package) func(string) ([]string, bool) {
	byPath := make(map[string]gocmd.Package, len(listed))
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

func addedPaths(plan *modgen.Plan) []string {
	var paths []string
	for _, a := range plan.Added {
		paths = append(paths, a.Path)
	}
	return paths
}
