package modgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// Trimmed is a module cache some of whose modules hold only the packages
// the host's build used (see internal/modtrim): a package of such a
// module that the build did not use is missing until the module is
// completed. The go command cannot tell a trimmed module from a complete
// one, and with -mod=mod it resolves a missing package by adding or
// upgrading a module to provide it: a silent move of a host dependency.
// So every load of new packages completes first what it needs (see Load).
type Trimmed interface {
	// IsTrimmed reports whether module mod at version may lack packages
	// in the module cache.
	IsTrimmed(mod, version string) bool
	// Complete makes the module cache hold all of mod at version, fetched
	// through the user's GOPROXY and checked against the host's go.sum;
	// pkg is the package that needs it. It fails with an
	// *IncompleteModuleError.
	Complete(ctx context.Context, mod, version, pkg string) error
}

// IncompleteModuleError is a package of a trimmed module that is needed
// and that the module could not be completed to provide.
type IncompleteModuleError struct {
	Module, Version string
	Package         string // the package that needs it
	Err             error
}

func (e *IncompleteModuleError) Error() string {
	return fmt.Sprintf("%s needs %s@%s, which this binary carries only in part (the packages its own build uses), and completing it failed: it needs GOPROXY access to download the module (%s)", e.Package, e.Module, e.Version, oneLine(e.Err))
}

func (e *IncompleteModuleError) Unwrap() error { return e.Err }

// LoadRequest is what Load loads.
type LoadRequest struct {
	// Go runs the go command, with -mod=mod in its GOFLAGS.
	Go *gocmd.Runner
	// Dir is the host module's root; GoModDir the directory of the go.mod
	// the go command edits there (-modfile), empty for Dir.
	Dir, GoModDir string
	// Trimmed is the module cache's trimmed modules; nil for none.
	Trimmed Trimmed
	// Args are go list's flags and packages, after -e -deps -json.
	Args []string
	// NoMove refuses, instead of letting it stand, a module the go
	// command adds or moves to provide a package no module of the build
	// list has: for loads after the plan is made, where a move would go
	// unreported.
	NoMove bool
}

// findingPrefix is how the go command says that it looks for a module to
// add for a package no module of the build list provides
// (cmd/go/internal/modload.queryImport).
const findingPrefix = "go: finding module for package "

// Load lists the packages of req.Args and their dependencies (go list -e
// -deps -json), completing first every trimmed module that provides a
// package they need: it lists them, and when the go command had to look
// for a module to provide a package that lies in a trimmed module of the
// build list, it puts go.mod and go.sum back as they were (undoing
// whatever module the go command added or upgraded for it), completes
// that module and lists again, until nothing is missing. A package that
// is missing for another reason is left to the go command, as ever.
func Load(ctx context.Context, req LoadRequest) ([]gocmd.Package, error) {
	gomodDir := cmpOr(req.GoModDir, req.Dir)
	done := map[string]bool{}
	for {
		before, err := readModFiles(gomodDir)
		if err != nil {
			return nil, err
		}
		var stderr bytes.Buffer
		args := append([]string{"-e", "-deps"}, req.Args...)
		pkgs, err := req.Go.List(ctx, gocmd.Invocation{Args: args, WorkingDir: req.Dir, Stderr: &stderr})
		if err != nil || req.Trimmed == nil && !req.NoMove {
			return pkgs, err
		}
		missing := missingPackages(pkgs, stderr.Bytes())
		if len(missing) == 0 {
			return pkgs, nil
		}
		after, err := readModFiles(gomodDir)
		if err != nil {
			return nil, err
		}
		if err := before.write(gomodDir); err != nil {
			return nil, err
		}
		need, err := providers(ctx, req, missing, done)
		if err != nil {
			return nil, err
		}
		if len(need) == 0 {
			if found := findings(stderr.Bytes()); req.NoMove && len(found) > 0 {
				return nil, fmt.Errorf("no module of the build list provides %s: the go command would add or move a module to provide it", strings.Join(found, ", "))
			}
			// Not in a trimmed module: the go command's outcome stands
			// (MakePlan reports what it moved as drift).
			return pkgs, after.write(gomodDir)
		}
		for _, n := range need {
			done[n.mod+"@"+n.version] = true
			if err := req.Trimmed.Complete(ctx, n.mod, n.version, n.pkg); err != nil {
				return nil, err
			}
		}
	}
}

type need struct{ mod, version, pkg string }

// providers returns the trimmed modules of the build list (as go.mod has
// it now) that may provide a missing package, less those in done.
func providers(ctx context.Context, req LoadRequest, missing []string, done map[string]bool) ([]need, error) {
	if req.Trimmed == nil {
		return nil, nil
	}
	bl, err := ReadBuildList(ctx, req.Go, req.Dir)
	if err != nil {
		return nil, err
	}
	var needs []need
	for _, p := range missing {
		for _, mod := range slices.Sorted(maps.Keys(bl)) {
			version := bl[mod]
			if within(p, mod) && !done[mod+"@"+version] && req.Trimmed.IsTrimmed(mod, version) &&
				!slices.ContainsFunc(needs, func(n need) bool { return n.mod == mod }) {
				needs = append(needs, need{mod, version, p})
			}
		}
	}
	return needs, nil
}

// findings returns the packages the go command looked for a module for.
func findings(stderr []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), findingPrefix); ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// missingPackages returns the packages the go command looked for a
// module for, or could not find: what a trimmed module may lack.
func missingPackages(pkgs []gocmd.Package, stderr []byte) []string {
	out := findings(stderr)
	add := func(p string) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, p := range pkgs {
		if p.Error != nil && p.Module == nil {
			add(p.ImportPath)
		}
	}
	return out
}

// modFiles are go.mod and go.sum as they were; a nil sum was missing.
type modFiles struct{ mod, sum []byte }

func readModFiles(dir string) (modFiles, error) {
	var f modFiles
	var err error
	if f.mod, err = os.ReadFile(filepath.Join(dir, "go.mod")); err != nil {
		return f, err
	}
	f.sum, err = os.ReadFile(filepath.Join(dir, "go.sum"))
	if os.IsNotExist(err) {
		err = nil
	}
	return f, err
}

func (f modFiles) write(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), f.mod, 0o644); err != nil {
		return err
	}
	if f.sum == nil {
		err := os.Remove(filepath.Join(dir, "go.sum"))
		if os.IsNotExist(err) {
			err = nil
		}
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), f.sum, 0o644)
}
