package modgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

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
