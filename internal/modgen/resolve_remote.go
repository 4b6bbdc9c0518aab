package modgen

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"golang.org/x/mod/semver"
)

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
		// The go command refuses to download a module whose go line
		// is above its own.
		if line := requiredGo(f.err); line != "" && f.m != nil && r.CheckGo != nil {
			if err := r.CheckGo(Resolved{Spec: s, Path: s.Path, Module: mod, Version: f.m.Version, GoLine: line}); err != nil {
				return Resolved{}, err
			}
		}
		return Resolved{}, f.err
	}
	m, dir := f.m, f.dir
	rv := Resolved{Spec: s, Path: s.Path, Module: mod, Version: m.Version, GoLine: goLineOf(dir)}
	if r.CheckGo != nil {
		// Before the go command looks into the module, which it
		// refuses for a go line above its own, in words that do not
		// say what allows it.
		if err := r.CheckGo(rv); err != nil {
			return Resolved{}, err
		}
	}
	has, err := r.hasPackage(ctx, dir, mod, m.Version, s.Path)
	if err != nil {
		return Resolved{}, err
	}
	if !has {
		return Resolved{}, &noPackageError{Module: mod, Version: m.Version, Path: s.Path}
	}
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
