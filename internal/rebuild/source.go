package rebuild

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// sources is the host's module unpacked, with the go commands that build
// it.
type sources struct {
	*tools
	tree *build.Tree
	// unpackedAnew says the module cache was unpacked anew, not reused:
	// a first rebuild of this program here.
	unpackedAnew bool
	// goRun is the bundled go command in the unpacked tree; completer
	// completes a module the bundle carries trimmed.
	goRun     *gocmd.Runner
	completer *build.Completer
	// sumBefore is the host's go.sum before modgen.
	sumBefore []byte
	// kept is the copy of the parts the new bundle carries on unchanged,
	// when it makes one (background.startKeptCopy).
	kept *build.KeptParts
}

// source is the source stage: the host's module unpacked into the work
// directory, its modules into the module cache (reused when it holds
// them already). A first rebuild compiles the standard packages
// meanwhile (background.startStdWarmUp).
func (p *pipeline) source(ctx context.Context, tc *tools, bg *background) (*sources, error) {
	job, s := p.job, tc.settings
	modCache := job.ModCache
	if modCache == "" {
		modCache = filepath.Join(job.Work, "mod")
	}
	var reused bool
	tree, err := orchestrator.Do(ctx, p.orch, orchestrator.Source, func(ctx context.Context) (*build.Tree, error) {
		defer bg.stopStdWarmUp()
		var tree *build.Tree
		var err error
		tree, reused, err = build.Unpack(tc.fsys, tc.manifest, job.Work, modCache, func(t *build.Tree) {
			// A first rebuild of this program here: the modules are
			// unpacked anew, a disk-bound wait. The standard packages
			// need none of them, unless the build uses a profile (PGO):
			// compiled outside the module they are then not what the
			// build compiles, even with the profile named.
			// With a store, the binary may be fetched: compile nothing
			// before the store has answered.
			if profile(s.flags, t) == "" && job.Store == "" {
				bg.startStdWarmUp(ctx, s.goRunner(tc.goroot, modCache), job.Work, s.flags, tc.manifest.StdPackages)
			}
		})
		return tree, err
	})
	if err != nil {
		return nil, err
	}
	goRun := s.goRunner(tc.goroot, tree.ModCache)
	goRun.OnRun = p.ranGo
	sumBefore, _ := os.ReadFile(filepath.Join(tree.Module, "go.sum"))
	download := s.downloadRunner(tc.goroot)
	download.OnRun = p.ranGo
	completer := &build.Completer{Go: download, ModCache: tree.ModCache, GoSum: sumBefore, Warn: p.warn}
	return &sources{tools: tc, tree: tree, unpackedAnew: !reused, goRun: goRun, completer: completer, sumBefore: sumBefore}, nil
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
