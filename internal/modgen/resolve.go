package modgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// Resolved is a spec resolved to the module that provides its package.
type Resolved struct {
	Spec   Spec
	Path   string // package import path
	Module string // module path; the host module for its own packages
	// Version is the module version: the one resolved, the zero
	// pseudo-version for a local directory, empty for a package of the
	// host module.
	Version string
	// Dir is, for a local directory, the absolute root directory of its
	// module: go.mod replaces Module with it, and the new binary's bundle
	// must carry a copy of it. Empty otherwise.
	Dir string
	// Warnings are one-line notes for the user, e.g. that the version is
	// retracted or that the module's own replace directives are ignored.
	Warnings []string
	// FromBuildList is set for a spec with no version whose module the
	// build list has: it is resolved to that module's version there, and
	// recorded as following it (bundle.QueryBuildList).
	FromBuildList bool
	// GoLine is the go line of the module's go.mod ("1.26"), when it was
	// read: a remote module's as downloaded, a local directory's.
	GoLine string
	// later, when set, returns the notes of a check still running (see
	// Resolver.laterRetractions): MakePlan waits for it at its end.
	later func() []string
}

// AllWarnings returns r's warnings, waiting for the checks still running.
func (r Resolved) AllWarnings() []string {
	if r.later == nil {
		return r.Warnings
	}
	return append(slices.Clone(r.Warnings), r.later()...)
}

// Plugin returns r as a member of a plugin set.
func (r Resolved) Plugin() Plugin {
	q := r.Spec.Query
	if r.FromBuildList {
		q = bundle.QueryBuildList
	}
	return Plugin{Path: r.Path, Module: r.Module, Version: r.Version, Query: q, Dir: r.Dir}
}

// Resolver resolves specs with the go command, in the host module.
// Calls do not modify it.
type Resolver struct {
	// Go runs the go command; its environment chooses the proxy.
	Go *gocmd.Runner
	// ModDir is the directory holding the host's go.mod.
	ModDir string
	// HostModule is the host's module path.
	HostModule string
	// BaseDir is the directory that relative local-directory specs are
	// taken from: the user's working directory. Empty means the process's
	// working directory.
	BaseDir string
	// RefuseRetracted refuses a version that its authors retracted. By
	// default it is resolved and a warning is put in Resolved.Warnings.
	RefuseRetracted bool
	// Trimmed, when set, is the module cache's trimmed modules: a module
	// that lacks the package may be one, and is completed to tell.
	Trimmed Trimmed
	// BuildList, when set, is the host's build list (Graph.BuildList);
	// nil means Resolve reads it with go mod graph when it needs it.
	BuildList BuildList
	// Installed are the plugins the binary has. Their modules are part of
	// its build list as the host's dependencies are, though the host's
	// go.mod does not require them: a spec that names a package of one
	// keeps its version as a dependency's would.
	Installed []Plugin
	// CheckGo, when set, refuses a module version by its go line
	// (Resolved.GoLine) before anything else is asked of it.
	CheckGo func(Resolved) error
}

type listedModule struct {
	Path      string
	Version   string
	Versions  []string
	Retracted []string
	Dir       string
	Error     *struct{ Err string }
	note      string // a warning about how it was listed
}

// Resolve finds the module providing s.Path and the version s asks for.
// A bare spec (no query) whose package lies in a module of the binary's
// build list (the host's, and the modules of its installed plugins)
// resolves to that module's version, offline: naming a plugin never
// moves the host's own dependencies unless a version is asked. So does a
// spec asking exactly the version the build list has; whether that
// version is retracted is asked meanwhile (Resolved.AllWarnings).
// Otherwise it resolves as go get does: of the module paths that may
// provide the package, asked together, the longest that does wins, and
// the errors of the others do not matter once one is found. A spec that cannot be used
// gives a *SpecError; a failure of the go command itself (no network, a
// cancelled ctx) is returned as it is.
func (r *Resolver) Resolve(ctx context.Context, s Spec) (Resolved, error) {
	switch {
	case s.Kind == LocalDir:
		return r.resolveLocal(s)
	case s.Path == r.HostModule || strings.HasPrefix(s.Path, r.HostModule+"/"):
		return r.resolveHostPackage(s)
	case !strings.Contains(strings.Split(s.Path, "/")[0], "."):
		return Resolved{}, specErr(s.Raw, ErrNoModule, "%s is a standard library package or lacks a domain name: a plugin is a package of a downloadable module, e.g. example.com/plugin", s.Path)
	}
	var note string
	switch {
	case s.Bare:
		rv, ok, err := r.fromBuildList(ctx, s, "")
		if ok {
			rv.FromBuildList = true
			return rv, nil
		}
		var ie *IncompleteModuleError
		if errors.As(err, &ie) {
			return Resolved{}, err
		}
		if err != nil {
			note = fmt.Sprintf("%s: could not read the host's build list (%s): resolved as @latest", s.Path, oneLine(err))
		}
	case s.Kind == Exact && !r.RefuseRetracted:
		// The version the host already builds with: the bundle carries
		// it, checked against go.sum. Only whether its authors have
		// retracted it since needs the network, and that is a warning,
		// so it is asked while the plan goes on.
		rv, ok, err := r.fromBuildList(ctx, s, s.Query)
		if ok {
			rv.later = r.laterRetractions(ctx, rv.Module, rv.Version)
			return rv, nil
		}
		var ie *IncompleteModuleError
		if errors.As(err, &ie) {
			return Resolved{}, err
		}
	}
	rv, err := r.resolveRemote(ctx, s)
	if note != "" {
		if err != nil {
			return rv, fmt.Errorf("%w (%s)", err, note)
		}
		rv.Warnings = append([]string{note}, rv.Warnings...)
	}
	return rv, err
}

// laterRetractions starts asking whether mod at version is retracted and
// returns what waits for the answer: a warning when it is, or when the
// question could not be asked. The go command runs in a directory of its
// own, outside the host module, so that it reads no go.mod the plan is
// writing meanwhile (a version query needs none).
func (r *Resolver) laterRetractions(ctx context.Context, mod, version string) func() []string {
	done := make(chan []string, 1)
	go func() {
		done <- r.retractions(ctx, mod, version)
	}()
	return sync.OnceValue(func() []string { return <-done })
}

func (r *Resolver) retractions(ctx context.Context, mod, version string) []string {
	dir, err := os.MkdirTemp("", "selfcompile-query-")
	if err != nil {
		return []string{uncheckedNote(mod, version, err)}
	}
	defer os.RemoveAll(dir)
	m, err := r.goJSONIn(ctx, dir, "list", "-m", "-json", "-retracted", mod+"@"+version)
	switch {
	case err != nil:
		return []string{uncheckedNote(mod, version, err)}
	case len(m.Retracted) > 0:
		return []string{retractedNote(mod, version, m.Retracted)}
	}
	return nil
}

// retractedNote is the warning for mod@version, retracted for why.
func retractedNote(mod, version string, why []string) string {
	return fmt.Sprintf("%s@%s is retracted by its authors: %s", mod, version, strings.Join(why, "; "))
}

// uncheckedNote is the warning for mod@version, whose retractions could
// not be loaded.
func uncheckedNote(mod, version string, err error) string {
	return fmt.Sprintf("could not check whether %s@%s is retracted: %s", mod, version, oneLine(err))
}

// isNotFound reports whether err says a module or version does not exist,
// as opposed to the go command failing to ask (network, ctx, a bug). A
// lookup of an unknown host counts as not found: it is far more often a
// typo in the path than a network failure, and the message quotes it.
func isNotFound(err error) bool {
	var np *noPackageError
	var nv *noVersionsError
	if errors.As(err, &np) || errors.As(err, &nv) {
		return true
	}
	var ge *gocmd.Error
	if !errors.As(err, &ge) || ge.ExitCode != 1 {
		return false
	}
	// 403 is what a proxy that serves only some modules answers for the
	// others (as some corporate proxies and the one the tests use do).
	for _, s := range []string{"404 Not Found", "410 Gone", "403 Forbidden", "not found", "unknown revision", "no matching versions", "invalid version", "malformed module path", "disabled by GOPROXY=off", "unrecognized import path", "no such host", "terminal prompts disabled"} {
		if strings.Contains(ge.Stderr, s) {
			return true
		}
	}
	return false
}

func (r *Resolver) listModule(ctx context.Context, args ...string) (*listedModule, error) {
	return r.goJSON(ctx, "list", append([]string{"-m", "-json"}, args...)...)
}

// download fetches mod@v into the module cache and returns its directory.
func (r *Resolver) download(ctx context.Context, mod, v string) (string, error) {
	dl, err := r.Go.Download(ctx, gocmd.Invocation{WorkingDir: r.ModDir}, mod+"@"+v)
	if err != nil {
		return "", err
	}
	return dl.Dir, nil
}

func (r *Resolver) goJSON(ctx context.Context, verb string, args ...string) (*listedModule, error) {
	return r.goJSONIn(ctx, r.ModDir, verb, args...)
}

// goJSONIn runs the go command in dir and decodes the module it prints.
func (r *Resolver) goJSONIn(ctx context.Context, dir, verb string, args ...string) (*listedModule, error) {
	out, err := r.Go.Run(ctx, gocmd.Invocation{Verb: verb, Args: args, WorkingDir: dir})
	if err != nil {
		return nil, err
	}
	var m listedModule
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("parsing the output of go %s %s: %w", verb, strings.Join(args, " "), err)
	}
	if m.Error != nil {
		return nil, errors.New(m.Error.Err)
	}
	return &m, nil
}

// hasGoFiles reports whether dir holds a Go source file that is not a
// test: the least a package needs. The verify stage checks the rest.
func hasGoFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			return true
		}
	}
	return false
}
