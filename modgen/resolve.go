package modgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

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

// fromBuildList resolves s to the module of the host's build list that
// provides its package, at the version the host builds with; when version
// is set, only a module the host builds at that version counts. The
// bundle carries the build list and those modules, so this needs no
// network. ok is false when no module of the build list provides the
// package, or the build list cannot be read (err says why); s is then
// resolved as any other.
func (r *Resolver) fromBuildList(ctx context.Context, s Spec, version string) (rv Resolved, ok bool, err error) {
	bl := r.BuildList
	var graphErr error // reading it failed: the installed plugins may still tell
	if bl == nil {
		bl, graphErr = ReadBuildList(ctx, r.Go, r.ModDir)
	}
	var candidates []listedModule
	for mod, v := range bl {
		if within(s.Path, mod) {
			candidates = append(candidates, listedModule{Path: mod, Version: v})
		}
	}
	for _, p := range r.Installed {
		if p.Dir != "" || p.Version == "" || !within(s.Path, p.Module) {
			continue
		}
		i := slices.IndexFunc(candidates, func(m listedModule) bool { return m.Path == p.Module })
		switch {
		case i < 0:
			candidates = append(candidates, listedModule{Path: p.Module, Version: p.Version})
		case semver.Compare(p.Version, candidates[i].Version) > 0:
			// The plugin requires it higher than the host does: the
			// build selects the plugin's (minimal version selection).
			candidates[i] = listedModule{Path: p.Module, Version: p.Version}
		}
	}
	// The longest module path that has the package provides it, as in the
	// go command's own import resolution.
	slices.SortFunc(candidates, func(a, b listedModule) int { return len(b.Path) - len(a.Path) })
	for _, m := range candidates {
		if version != "" && m.Version != version {
			// A longer module of the build list, at another version, may
			// be the one that provides the package: leave it to the
			// proxy rather than guess a shorter one.
			return Resolved{}, false, nil
		}
		dir, err := r.moduleDir(ctx, m.Path, m.Version)
		if err != nil {
			continue
		}
		has, err := r.hasPackage(ctx, dir, m.Path, m.Version, s.Path)
		if err != nil {
			return Resolved{}, false, err
		}
		if has {
			return Resolved{Spec: s, Path: s.Path, Module: m.Path, Version: m.Version}, true, nil
		}
	}
	return Resolved{}, false, graphErr
}

// moduleDir returns where mod at version lies unpacked in the module
// cache (GOMODCACHE of the go command's environment), or else downloads
// it there.
func (r *Resolver) moduleDir(ctx context.Context, mod, version string) (string, error) {
	if cache, _ := gocmd.Lookup(r.Go.Environ(), "GOMODCACHE"); cache != "" {
		key, err := module.EscapePath(mod)
		if err != nil {
			return "", err
		}
		v, err := module.EscapeVersion(version)
		if err != nil {
			return "", err
		}
		dir := filepath.Join(cache, filepath.FromSlash(key+"@"+v))
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir, nil
		}
	}
	return r.download(ctx, mod, version)
}

// hasPackage reports whether module mod at version, unpacked at dir,
// provides package pkg, completing the module first when it is trimmed
// and lacks it.
func (r *Resolver) hasPackage(ctx context.Context, dir, mod, version, pkg string) (bool, error) {
	rel := filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/"))
	if hasGoFiles(filepath.Join(dir, rel)) {
		return true, nil
	}
	if r.Trimmed == nil || !r.Trimmed.IsTrimmed(mod, version) {
		return false, nil
	}
	if err := r.Trimmed.Complete(ctx, mod, version, pkg); err != nil {
		return false, err
	}
	return hasGoFiles(filepath.Join(dir, rel)), nil
}

// within reports whether package p lies in module path mod.
func within(p, mod string) bool {
	return p == mod || strings.HasPrefix(p, mod+"/")
}

func (r *Resolver) resolveHostPackage(s Spec) (Resolved, error) {
	if s.Kind != Latest {
		return Resolved{}, specErr(s.Raw, ErrHostPkg, "package %s is part of the host module %s, which is always built at its bundled version: drop %q", s.Path, r.HostModule, "@"+s.Query)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(s.Path, r.HostModule), "/")
	if !hasGoFiles(filepath.Join(r.ModDir, filepath.FromSlash(rel))) {
		return Resolved{}, specErr(s.Raw, ErrNoPackage, "package %s is not in the bundled source of the host module %s: check the path", s.Path, r.HostModule)
	}
	return Resolved{Spec: s, Path: s.Path, Module: r.HostModule}, nil
}

// resolveRemote tries every prefix of s.Path as a module path, longest
// first, and takes the first that provides the package. A path the go
// command reports as not existing is passed over, as go get does (with
// GOPROXY=URL,direct that includes a proxy's 404 followed by direct's
// failure to find a repository). A longer path that failed for another
// reason does not stop a shorter one from providing the package either,
// but the result then carries a warning naming that failure: go get would
// have stopped there.
//
// The prefixes are asked together, as the go command asks them
// (modload.QueryPattern), at most maxQueries at a time: the time is about
// that of the slowest answer, not the sum of all. What may change the
// module cache beyond a download (completing a trimmed module) is done
// after, longest first, only as far as needed.
func (r *Resolver) resolveRemote(ctx context.Context, s Spec) (Resolved, error) {
	prefixes := modulePrefixes(s.Path)
	found := make([]found, len(prefixes))
	sem := make(chan struct{}, maxQueries)
	var wg sync.WaitGroup
	for i, mod := range prefixes {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			found[i] = r.findVersion(ctx, mod, s)
		})
	}
	wg.Wait()

	var telling error // the failure to explain if no prefix provides the package
	var failed []string
	var firstFailure error
	for i, mod := range prefixes {
		rv, err := r.resolveIn(ctx, mod, s, found[i])
		if err == nil {
			for _, f := range failed {
				rv.Warnings = append(rv.Warnings, fmt.Sprintf("%s: using %s@%s, but %s", s.Path, rv.Module, rv.Version, f))
			}
			return rv, nil
		}
		var se *SpecError
		switch {
		case errors.As(err, &se):
			return Resolved{}, err
		case ctx.Err() != nil:
			return Resolved{}, fmt.Errorf("resolving plugin %q: %w", s.Raw, err)
		case !isNotFound(err):
			qe := &queryError{Module: mod, Err: err}
			if firstFailure == nil {
				firstFailure = qe
			}
			failed = append(failed, qe.Error())
			continue
		}
		var np *noPackageError
		if telling == nil || errors.As(err, &np) && !errors.As(telling, &np) {
			telling = err
		}
	}
	if firstFailure != nil {
		return Resolved{}, fmt.Errorf("resolving plugin %q: %w", s.Raw, firstFailure)
	}
	return Resolved{}, r.explain(ctx, s, telling)
}

// maxQueries is how many go commands one spec's resolution runs at once:
// a package path has at most MaxPathElements prefixes, and most have
// fewer than four.
const maxQueries = 4

// modulePrefixes returns p and its parent paths, longest first: the
// module paths that may provide package p.
func modulePrefixes(p string) []string {
	var out []string
	for ; strings.Contains(p, "/"); p = path.Dir(p) {
		out = append(out, p)
	}
	return append(out, p)
}

// queryError is a question about a module path that the go command could
// not answer (network, proxy): its message is one line, the go command's
// own in the GoCommandRan event of the run that failed.
type queryError struct {
	Module string
	Err    error
}

func (e *queryError) Error() string {
	return fmt.Sprintf("asking whether module %s provides it failed: %s", e.Module, oneLine(e.Err))
}

func (e *queryError) Unwrap() error { return e.Err }

// noPackageError is a module found at the asked version without the
// package in it.
type noPackageError struct{ Module, Version, Path string }

func (e *noPackageError) Error() string {
	if e.Path == e.Module {
		return fmt.Sprintf("%s %s has no package at its root", e.Module, e.Version)
	}
	return fmt.Sprintf("%s %s has no package %s", e.Module, e.Version, strings.TrimPrefix(e.Path, e.Module+"/"))
}

// found is what the proxy says of one module path: the version s's query
// picks in it, and where that version is unpacked.
type found struct {
	m   *listedModule
	dir string
	err error
}

// findVersion picks s's version of module mod and downloads it: the
// network part of resolving s against mod, which changes nothing but the
// module cache's downloads.
func (r *Resolver) findVersion(ctx context.Context, mod string, s Spec) found {
	m, err := r.pickVersion(ctx, mod, s)
	if err != nil {
		return found{err: err}
	}
	dir, err := r.download(ctx, mod, m.Version)
	return found{m: m, dir: dir, err: err}
}

// resolveIn resolves s against module mod, given what findVersion found.
func (r *Resolver) resolveIn(ctx context.Context, mod string, s Spec, f found) (Resolved, error) {
	if f.err != nil {
		return Resolved{}, f.err
	}
	m, dir := f.m, f.dir
	has, err := r.hasPackage(ctx, dir, mod, m.Version, s.Path)
	if err != nil {
		return Resolved{}, err
	}
	if !has {
		return Resolved{}, &noPackageError{Module: mod, Version: m.Version, Path: s.Path}
	}
	rv := Resolved{Spec: s, Path: s.Path, Module: mod, Version: m.Version}
	if m.note != "" {
		rv.Warnings = append(rv.Warnings, m.note)
	}
	if len(m.Retracted) == 0 {
		return rv, nil
	}
	if r.RefuseRetracted {
		return Resolved{}, specErr(s.Raw, ErrRetracted, "%s@%s is retracted by its authors (%s): ask another version, e.g. %s@latest", mod, m.Version, strings.Join(m.Retracted, "; "), s.Path)
	}
	rv.Warnings = append(rv.Warnings, retractedNote(mod, m.Version, m.Retracted))
	return rv, nil
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

// pickVersion resolves s's query against module mod. Only an exact
// version can be retracted: the go command leaves retracted versions out
// of latest and of version lists.
func (r *Resolver) pickVersion(ctx context.Context, mod string, s Spec) (*listedModule, error) {
	switch s.Kind {
	case Exact:
		m, err := r.listModule(ctx, "-retracted", mod+"@"+s.Query)
		if err == nil || !strings.Contains(err.Error(), "loading module retractions") {
			return m, err
		}
		// The proxy serves the version but not the list of versions that
		// says what is retracted (some answer 403): go get warns and goes
		// on; so does this, unless retracted versions are refused.
		if r.RefuseRetracted {
			return nil, specErr(s.Raw, ErrRetracted, "cannot tell whether %s@%s is retracted, and retracted versions are refused: %s", mod, s.Query, oneLine(err))
		}
		m, err2 := r.listModule(ctx, mod+"@"+s.Query)
		if err2 != nil {
			return nil, err2
		}
		m.note = uncheckedNote(mod, m.Version, err)
		return m, nil
	case Constraint:
		return r.pickConstraint(ctx, mod, s)
	default:
		return r.listModule(ctx, mod+"@latest")
	}
}

func (r *Resolver) pickConstraint(ctx context.Context, mod string, s Spec) (*listedModule, error) {
	m, err := r.listModule(ctx, "-versions", mod)
	if err != nil {
		return nil, err
	}
	if len(m.Versions) == 0 {
		return nil, &noVersionsError{mod}
	}
	best := ""
	for _, v := range m.Versions {
		if s.Allows(v) && (best == "" || semver.Compare(v, best) > 0) {
			best = v
		}
	}
	if best == "" {
		return nil, specErr(s.Raw, ErrNoMatch, "no version of %s satisfies %s (available: %s)%s", mod, s.Query, versionList(m.Versions), majorHint(mod, s))
	}
	return &listedModule{Path: mod, Version: best}, nil
}

// noVersionsError is a module with no tagged version, which no
// constraint can select from.
type noVersionsError struct{ Module string }

func (e *noVersionsError) Error() string { return "module " + e.Module + " has no tagged versions" }

// majorHint explains Go's major version rule when a constraint can only
// be met by a major version that lives at another module path.
func majorHint(mod string, s Spec) string {
	low := s.MinMajor()
	prefix, pathMajor, ok := module.SplitPathVersion(mod)
	if !ok || low < 2 || strings.HasPrefix(pathMajor, ".") || pathMajor == fmt.Sprintf("/v%d", low) {
		return ""
	}
	alt := fmt.Sprintf("%s/v%d%s", prefix, low, strings.TrimPrefix(s.Path, mod))
	return fmt.Sprintf("; major version %d lives at module path %s/v%d: write %s@%s", low, prefix, low, alt, s.Query)
}

// maxListed is how many versions a message lists.
const maxListed = 10

// versionList lists the highest versions of vs, which is sorted.
func versionList(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	if len(vs) > maxListed {
		return fmt.Sprintf("%d versions, the highest %s", len(vs), strings.Join(vs[len(vs)-maxListed:], ", "))
	}
	return strings.Join(vs, ", ")
}

// explain turns the failure to find s's module into a SpecError of one
// line that says what to do. The go command's own words are in the
// GoCommandRan events of the go commands that failed, for --verbose.
func (r *Resolver) explain(ctx context.Context, s Spec, err error) error {
	var np *noPackageError
	if errors.As(err, &np) {
		return specErr(s.Raw, ErrNoPackage, "%v: check the path, or ask a version that has it", np)
	}
	if r.proxyOff() || strings.Contains(oneLine(err), "GOPROXY=off") {
		return specErr(s.Raw, ErrNeedsProxy, "GOPROXY=off: %s is not in the bundle and needs the module proxy", s.Path)
	}
	if s.Kind == Exact {
		if m := r.knownModule(ctx, s.Path); m != nil {
			return specErr(s.Raw, ErrNoVersion, "no version %s of %s (%s)", s.Query, m.Path, nearVersions(m.Versions, s.Query))
		}
	}
	return specErr(s.Raw, ErrNoModule, "no module provides package %s: check the path", s.Path)
}

// proxyOff reports whether the go command's environment turns the module
// proxy off.
func (r *Resolver) proxyOff() bool {
	v, _ := gocmd.Lookup(r.Go.Environ(), "GOPROXY")
	return v == "off"
}

// nearVersions describes the versions vs (sorted) of a module that lacks
// version v: the newest release (or the newest version, when there is
// none) and those just below and above v.
func nearVersions(vs []string, v string) string {
	if len(vs) == 0 {
		return "it has no tagged versions"
	}
	newest := vs[len(vs)-1]
	for _, x := range slices.Backward(vs) {
		if semver.Prerelease(x) == "" {
			newest = x
			break
		}
	}
	i, _ := slices.BinarySearchFunc(vs, v, semver.Compare)
	var near []string
	if i > 0 && vs[i-1] != newest {
		near = append(near, vs[i-1])
	}
	if i < len(vs) && vs[i] != newest {
		near = append(near, vs[i])
	}
	if len(near) == 0 {
		return "newest " + newest
	}
	return fmt.Sprintf("newest %s; nearest %s", newest, strings.Join(near, ", "))
}

// knownModule returns the longest prefix of p that the proxy knows as a
// module, with its versions, or nil.
func (r *Resolver) knownModule(ctx context.Context, p string) *listedModule {
	for _, mod := range modulePrefixes(p) {
		if m, err := r.listModule(ctx, "-versions", mod); err == nil {
			return m
		}
	}
	return nil
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
