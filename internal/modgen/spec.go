package modgen

import (
	"fmt"
	"path/filepath"
	"regexp"
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
	// Bare is set when the spec named no query at all (PATH alone): a
	// package of a module the host already requires then stays at the
	// version the host builds with.
	Bare bool

	constraint version.Constraints
}

// String returns the spec in canonical form: PATH@QUERY, or the directory
// for a LocalDir spec. Parsing it gives back the same Path, Query and Kind.
func (s Spec) String() string {
	if s.Kind == LocalDir {
		return s.Path
	}
	return s.Path + "@" + s.Query
}

// pathMeta are the characters refused in a spec's path: they mean
// something to a shell, so a spec holding one was almost certainly
// mangled on its way in (or is an injection attempt).
const pathMeta = "\"'`$;&|<>(){}[]\\*?!#%^=,"

// queryChars are all the characters a query may hold: those of semantic
// versions and of go-version constraints.
const queryChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-~<>=!,"

// The bounds of a spec: resolving a package path asks the module proxy
// about each of its prefixes, so its number of elements bounds the work
// a spec starts. The deepest package paths in the wild have about 15.
const (
	MaxSpecLen      = 1024
	MaxPathElements = 32
)

// ParseSpec parses PATH[@QUERY]. Every error is a *SpecError whose message
// is one line naming the spec and what to write instead.
func ParseSpec(raw string) (Spec, error) {
	if len(raw) > MaxSpecLen {
		// Not quoted whole: the message stays one short line.
		return Spec{}, specErr(raw[:40]+"...", ErrMalformed, "a spec of %d bytes: at most %d", len(raw), MaxSpecLen)
	}
	p, q, hasQuery, err := splitSpec(raw)
	if err != nil {
		return Spec{}, err
	}
	if isLocal(p) {
		if hasQuery {
			return Spec{}, specErr(raw, ErrMalformed, "a local directory takes no version: drop %q", "@"+q)
		}
		return Spec{Raw: raw, Path: p, Kind: LocalDir}, nil
	}
	if strings.HasPrefix(p, "~") {
		return Spec{}, specErr(raw, ErrMalformed, "~ was not expanded by a shell: give the directory as ./dir, ../dir or an absolute path")
	}
	if err := module.CheckImportPath(p); err != nil {
		return Spec{}, specErr(raw, ErrMalformed, "invalid package path: %s", oneLine(err))
	}
	if n := strings.Count(p, "/") + 1; n > MaxPathElements {
		return Spec{}, specErr(raw, ErrMalformed, "a package path of %d elements: at most %d", n, MaxPathElements)
	}
	if !hasQuery || q == "latest" {
		return Spec{Raw: raw, Path: p, Query: "latest", Kind: Latest, Bare: !hasQuery}, nil
	}
	if strings.HasPrefix(q, "v") && semver.IsValid(q) {
		return parseExact(raw, p, q)
	}
	return parseConstraint(raw, p, q)
}

// splitSpec checks the characters of raw and cuts it at its '@'.
func splitSpec(raw string) (path, query string, hasQuery bool, err error) {
	if raw == "" {
		return "", "", false, specErr(raw, ErrMalformed, "empty spec: give a package path such as example.com/plugin@v1.2.0")
	}
	if i := strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		return "", "", false, specErr(raw, ErrMalformed, "spaces and control characters are not allowed: give PATH[@VERSION] as one word, e.g. example.com/plugin@>=1.2,<2")
	}
	path, query, hasQuery = strings.Cut(raw, "@")
	switch {
	case strings.Contains(query, "@"):
		return "", "", false, specErr(raw, ErrMalformed, "more than one '@': give PATH[@VERSION]")
	case path == "":
		return "", "", false, specErr(raw, ErrMalformed, "no path before '@': give a package path such as example.com/plugin")
	case hasQuery && query == "":
		return "", "", false, specErr(raw, ErrMalformed, "no version after '@': give a version such as @v1.2.0, @latest or a constraint such as @>=1.2,<2")
	}
	if i := strings.IndexAny(path, pathMeta); i >= 0 {
		return "", "", false, specErr(raw, ErrMalformed, "character %q is not allowed in a path: give PATH[@VERSION] with no shell characters", path[i])
	}
	if i := strings.IndexFunc(query, func(r rune) bool { return !strings.ContainsRune(queryChars, r) }); i >= 0 {
		return "", "", false, specErr(raw, ErrMalformed, "character %q is not allowed in a version: give a version (v1.2.0), latest or a constraint (>=1.2,<2)", query[i])
	}
	return path, query, hasQuery, nil
}

func parseExact(raw, p, q string) (Spec, error) {
	c := semver.Canonical(q)
	if semver.Build(q) == "+incompatible" {
		c += "+incompatible" // the one build suffix Go keeps
	}
	if c != q {
		return Spec{}, specErr(raw, ErrMalformed, "version %s is not canonical: write %s@%s", q, p, c)
	}
	if err := checkMajor(p, q); err != nil {
		return Spec{}, specErr(raw, ErrMajor, "%v", err)
	}
	return Spec{Raw: raw, Path: p, Query: q, Kind: Exact}, nil
}

func parseConstraint(raw, p, q string) (Spec, error) {
	c, err := version.NewConstraint(q)
	if err != nil {
		if semver.IsValid("v" + q) {
			return Spec{}, specErr(raw, ErrMalformed, "version %s needs a leading v: write %s@v%s", q, p, q)
		}
		return Spec{}, specErr(raw, ErrMalformed, "%q is neither a version (v1.2.0), latest, nor a constraint (>=1.2,<2)", q)
	}
	return Spec{Raw: raw, Path: p, Query: q, Kind: Constraint, constraint: c}, nil
}

// checkMajor applies Go's major version rule to an exact version: v2 and
// above need a /vN suffix on the module path (or .vN for gopkg.in). The
// package path may name a package inside the module, so any element
// equal to vN is taken as the suffix.
func checkMajor(path, v string) error {
	major := semver.Major(v)
	if major == "v0" || major == "v1" || semver.Build(v) == "+incompatible" {
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
	return fmt.Errorf("version %s is major version %s, whose module path ends in /%s: write %s/%s@%s (for a package inside the module, put /%s after the module path)", v, major[1:], major, path, major, v, major)
}

func isLocal(p string) bool {
	return p == "." || p == ".." || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || filepath.IsAbs(p)
}

// Allows reports whether v satisfies a constraint spec. A prerelease
// version satisfies it only if the constraint itself names a prerelease:
// "!=1.2.3" alone must not pick v1.4.0-rc.1.
func (s Spec) Allows(v string) bool {
	if s.Kind != Constraint {
		return false
	}
	sv, err := version.NewSemver(strings.TrimPrefix(v, "v"))
	if err != nil {
		return false
	}
	if sv.Prerelease() != "" && !s.namesPrerelease() {
		return false
	}
	return s.constraint.Check(sv)
}

func (s Spec) namesPrerelease() bool {
	for _, c := range s.constraint {
		if c.Prerelease() {
			return true
		}
	}
	return false
}

// constraintOp splits one go-version constraint into operator and version.
var constraintOp = regexp.MustCompile(`^(<=|>=|!=|~>|<|>|=|)(.*)$`)

// MinMajor returns the lowest major version a constraint spec can match,
// or 0 when it has no lower bound. ">=2.1,<3" gives 2: such a constraint
// can only be met under a /v2 module path.
func (s Spec) MinMajor() int {
	low := 0
	for _, c := range s.constraint {
		m := constraintOp.FindStringSubmatch(c.String())
		if m == nil || m[1] == "<" || m[1] == "<=" || m[1] == "!=" {
			continue
		}
		if v, err := version.NewVersion(m[2]); err == nil && v.Segments()[0] > low {
			low = v.Segments()[0]
		}
	}
	return low
}
