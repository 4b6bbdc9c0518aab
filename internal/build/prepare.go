package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/assemble"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
)

// Input is what Prepare and Build build.
type Input struct {
	// Go runs the bundled go command with the build's environment.
	Go *gocmd.Runner
	// Tree is the unpacked host, its go.mod already holding the plugins.
	Tree *Tree
	// Bundle and Manifest are the running binary's bundle: the parts that
	// do not change (toolchain, helper) are copied from it.
	Bundle   fs.FS
	Manifest *bundle.Manifest
	// Plugins is the new plugin set; Graph the module graph with it (nil
	// when go.mod did not change), which decides what modules the new
	// bundle keeps.
	Plugins []bundle.Plugin
	Graph   *modgen.Graph
	// Flags are the original build's flags.
	Flags []string
	// Output is the file to write the binary to; its directory must exist.
	Output string
	// Record is what the new bundle records of this rebuild; Sums are
	// filled in from the tree's go.sum.
	Record *bundle.Rebuild
	// Trimmed, when set, completes the trimmed modules the build needs
	// (see modgen.Load); nil for a module cache with none.
	Trimmed modgen.Trimmed
	// Kept, when set, holds the parts the new bundle carries on unchanged,
	// copied already (CopyKeptParts); nil copies them with the others.
	Kept *KeptParts
	// Listed, when set, are the packages the build uses, listed with the
	// go.mod it builds with (modgen.Plan.Listed, with the host's packages
	// [Tree.HostPackages]): Prepare does not list them again.
	Listed []gocmd.Package

	// Switch, when set, is the toolchain the rebuild moved to
	// (Options.Toolchain), which the new bundle carries instead.
	Switch *Switch
}

// Output is what Build built.
type Output struct {
	// Binary is the new binary, Input.Output.
	Binary string
	// Manifest is the manifest of the bundle it carries.
	Manifest *bundle.Manifest
	// BundleDir holds the new bundle's files, in the unpacked main package.
	BundleDir string
}

// Prepare links in.Plugins into the main package (see bundle.PluginsSource) and
// writes the new bundle beside them: all of the build but the go build,
// which Build runs. It compiles nothing, so it may run while the plugins
// are checked (it reads the module cache, and completes a trimmed module
// only through in.Trimmed).
func Prepare(ctx context.Context, in Input) (*Prepared, error) {
	t := in.Tree
	if err := bundle.WriteFileAtomic(filepath.Join(t.MainDir, bundle.PluginsFile), bundle.PluginsSource(in.Plugins, in.Manifest.MainPackage), 0o644); err != nil {
		return nil, err
	}
	mainPkg := t.MainPackage()
	// Every package, loaded once so that the module cache holds all that
	// the build needs before the modules part is written, trimmed modules
	// completed where the build needs more of them: modgen did so with the
	// plugins, or it is done here. The host module's other packages too,
	// as the generator does: what they use stays in the bundle (a plugin
	// may be one of them).
	listed := in.Listed
	if listed == nil {
		var err error
		listed, err = modgen.Load(ctx, modgen.LoadRequest{Go: in.Go, Dir: t.Module, Trimmed: in.Trimmed, Args: append(slices.Clone(in.Flags), t.HostPackages()...), NoMove: true})
		if err != nil {
			return nil, err
		}
	}
	u, err := usedPackages(ctx, in, mainPkg, listed)
	if err != nil {
		return nil, err
	}
	m, err := writeBundle(in, u)
	if err != nil {
		return nil, fmt.Errorf("writing the new bundle: %w", err)
	}
	return &Prepared{in: in, mainPkg: mainPkg, manifest: m}, nil
}

// Prepared is a build whose sources and bundle are written.
type Prepared struct {
	in       Input
	mainPkg  string
	manifest *bundle.Manifest
}

// Build runs the go build, reporting to progress, when set, the packages
// it started compiling so far and how many it will compile. It calls
// depsDone, when set, once every package but the main one is compiled:
// when the go command starts compiling the main package (-v), or, if it
// never does, when it ends.
func (p *Prepared) Build(ctx context.Context, progress func(done, total int), depsDone func()) (*Output, error) {
	in, t := p.in, p.in.Tree
	args := append(append([]string{}, in.Flags...), "-o", in.Output, p.mainPkg)
	inv := gocmd.Invocation{Verb: "build", Args: args, WorkingDir: t.Module}
	if depsDone != nil {
		done := sync.OnceFunc(depsDone)
		defer done()
		main := in.Manifest.MainPackage
		inv.Compiled = func(pkg string) {
			if pkg == main {
				done()
			}
		}
	}
	var err error
	if progress != nil {
		_, err = in.Go.RunCounted(ctx, inv, in.Flags, []string{p.mainPkg}, progress)
	} else {
		_, err = in.Go.Run(ctx, inv)
	}
	if err != nil {
		return nil, err
	}
	return &Output{Binary: in.Output, Manifest: p.manifest, BundleDir: t.MainDir}, nil
}

// used are the packages a new build uses, on each platform its bundle
// keeps packages for, as the assembler takes them (assemble.Input).
type used struct {
	platforms []string
	listed    []gocmd.Package
	whole     bool
}

// usedPackages returns the packages the new build uses on each platform
// the bundle keeps packages for (bundle.Manifest.TrimPlatforms, its own
// when it names none): listed for this one, and go list for the others.
// Those are listed with -mod=readonly: a package another platform needs
// that no module of the build list holds is that platform's rebuild's to
// complete, and must not move a module here. When another platform
// cannot be listed, the new bundle carries the modules as the module
// cache holds them, not trimmed again (larger, never short of a package).
func usedPackages(ctx context.Context, in Input, mainPkg string, listed []gocmd.Package) (used, error) {
	own := in.Manifest.GOOS + "/" + in.Manifest.GOARCH
	u := used{platforms: in.Manifest.TrimPlatforms, listed: slices.Clip(listed)}
	if len(u.platforms) == 0 && in.Manifest.Slim == nil {
		u.platforms = []string{own}
	}
	for _, p := range u.platforms {
		if p == own || !strings.Contains(p, "/") {
			continue
		}
		args := append(append([]string{"-mod=readonly"}, in.Flags...), mainPkg, "./...")
		ls, err := assemble.ListOn(ctx, in.Go, p, gocmd.Invocation{Args: args, WorkingDir: in.Tree.Module})
		var goErr *gocmd.Error
		if errors.As(err, &goErr) {
			u.whole = true
			return u, nil
		}
		if err != nil {
			return u, err
		}
		u.listed = append(u.listed, ls...)
	}
	return u, nil
}
