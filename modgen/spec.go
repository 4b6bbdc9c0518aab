// Package modgen owns the host's go.mod during a rebuild: it parses plugin
// specs (PATH[@QUERY]), resolves each query to one module version through
// the go command, and adds the requirements to go.mod with
// golang.org/x/mod/modfile.
//
// Spec grammar:
//
//	spec  = path [ "@" query ]
//	path  = import path of a package | "./dir" | "../dir" | "/abs/dir"
//	query = "latest" | exact semantic version | go-version constraint
//
// An exact version is a canonical semantic version such as v1.2.0 (a
// prerelease or pseudo-version included). A constraint is anything
// github.com/hashicorp/go-version parses, e.g. ">=1.2,<2" or "~>1.2"; it
// selects the highest release version that satisfies it.
package modgen

import (
	"fmt"
	"path/filepath"
	"strings"

	version "github.com/hashicorp/go-version"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// QueryKind says how a spec's version is chosen.
type QueryKind int

// The kinds of query.
const (
	Latest     QueryKind = iota // "latest" or no query
	Exact                       // a canonical semantic version
	Constraint                  // a hashicorp/go-version constraint
	LocalDir                    // a local directory, no query
)

// Spec is a parsed plugin spec.
type Spec struct {
	Raw   string // as given
	Path  string // package import path; for LocalDir, the directory as given
	Query string // "latest", a version or a constraint; empty for LocalDir
	Kind  QueryKind

	constraint version.Constraints
}

// SpecError reports a spec that cannot be used.
type SpecError struct {
	Spec string
	Msg  string
}

func (e *SpecError) Error() string { return fmt.Sprintf("plugin %q: %s", e.Spec, e.Msg) }

// ParseSpec parses PATH[@QUERY].
func ParseSpec(raw string) (Spec, error) {
	bad := func(format string, args ...any) (Spec, error) {
		return Spec{}, &SpecError{Spec: raw, Msg: fmt.Sprintf(format, args...)}
	}
	if raw == "" {
		return bad("empty spec: give a package path such as example.com/plugin@v1.2.0")
	}
	if i := strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || strings.ContainsRune("\"'`$;&|<>(){}[]\\*?!#", r) }); i >= 0 {
		return bad("character %q is not allowed in a plugin spec: give PATH[@VERSION] with no spaces or shell characters", raw[i])
	}
	p, q, hasQuery := strings.Cut(raw, "@")
	if strings.Contains(q, "@") {
		return bad("more than one '@': give PATH[@VERSION]")
	}
	if p == "" {
		return bad("no path before '@': give a package path such as example.com/plugin")
	}
	if hasQuery && q == "" {
		return bad("no version after '@': give a version such as @v1.2.0, @latest or a constraint such as @>=1.2,<2")
	}
	if isLocal(p) {
		if hasQuery {
			return bad("a local directory takes no version: drop %q", "@"+q)
		}
		return Spec{Raw: raw, Path: p, Kind: LocalDir}, nil
	}
	if err := module.CheckImportPath(p); err != nil {
		return bad("invalid package path: %v", err)
	}
	s := Spec{Raw: raw, Path: p, Query: q, Kind: Latest}
	switch {
	case !hasQuery || q == "latest":
		s.Query = "latest"
	case strings.HasPrefix(q, "v") && semver.IsValid(q):
		if semver.Canonical(q) != q {
			return bad("version %s is not canonical: write %s", q, semver.Canonical(q))
		}
		s.Kind = Exact
		if err := checkMajor(p, q); err != nil {
			return bad("%v", err)
		}
	default:
		c, err := version.NewConstraint(q)
		if err != nil {
			if semver.IsValid("v" + q) {
				return bad("version %s needs a leading v: write @v%s", q, q)
			}
			return bad("%q is neither a version (v1.2.0), latest, nor a constraint (>=1.2,<2): %v", q, err)
		}
		s.Kind = Constraint
		s.constraint = c
	}
	return s, nil
}

// checkMajor applies Go's major version rule to an exact version: v2 and
// above need a /vN suffix on the module path (or .vN for gopkg.in).
func checkMajor(path, v string) error {
	major := semver.Major(v)
	if major == "v0" || major == "v1" || strings.HasSuffix(semver.Build(v), "+incompatible") {
		return nil
	}
	for _, elem := range strings.Split(path, "/") {
		if elem == major {
			return nil
		}
	}
	if strings.HasPrefix(path, "gopkg.in/") && strings.Contains(path, "."+major) {
		return nil
	}
	return fmt.Errorf("version %s is major version %s, which lives at module path %s/%s: write %s/%s@%s", v, major[1:], path, major, path, major, v)
}

func isLocal(p string) bool {
	return p == "." || p == ".." || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || filepath.IsAbs(p)
}

// Allows reports whether a release version satisfies a constraint spec.
func (s Spec) Allows(v string) bool {
	if s.Kind != Constraint {
		return false
	}
	sv, err := version.NewSemver(strings.TrimPrefix(v, "v"))
	if err != nil {
		return false
	}
	if sv.Prerelease() != "" && !strings.Contains(s.Query, "-") {
		return false
	}
	return s.constraint.Check(sv)
}
