package vulns

import (
	"fmt"
	"runtime/debug"
)

// Build is what a binary was built from, for telling what a rebuild
// brings: its Go version and each module's version.
type Build struct {
	GoVersion string            // e.g. "go1.26.8"
	Modules   map[string]string // module path to version, the main module's too
}

// BuildOf is the Build that bi describes; nil bi is a binary unknown,
// from which every finding is new.
func BuildOf(bi *debug.BuildInfo) Build {
	b := Build{Modules: map[string]string{}}
	if bi == nil {
		return b
	}
	b.GoVersion = bi.GoVersion
	b.Modules[bi.Main.Path] = bi.Main.Version
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		b.Modules[m.Path] = m.Version
	}
	return b
}

// Introduced reports whether f is brought by a change from b: its module
// is new to the build or at another version, or it is of the standard
// library (or the toolchain) and the Go version changed, to goVersion.
func (b Build) Introduced(f Finding, goVersion string) bool {
	switch f.Module {
	case stdlib, "toolchain":
		return goVersion != b.GoVersion
	}
	v, ok := b.Modules[f.Module]
	return !ok || v != f.Version
}

// Policy is what a rebuild does with its findings, as selfcompile's
// VulnPolicy.
type Policy int

// The policies.
const (
	Warn   Policy = iota // report every finding, refuse none
	Refuse               // refuse a reachable finding the rebuild introduces
)

// RefusedError refuses a rebuild for a vulnerability it brings.
type RefusedError struct {
	Finding Finding
}

func (e *RefusedError) Error() string {
	f := e.Finding
	fix := "no fixed version is known"
	if f.Fixed != "" {
		fix = "fixed in " + f.Fixed
	}
	return fmt.Sprintf("%s@%s has vulnerability %s (%s), which this rebuild would bring in, and the Vulns option is RefuseVulns", f.Module, f.Version, f.ID, fix)
}

// Decide is what policy makes of findings, each marked Introduced by
// introduced: the first reachable finding that is introduced, under
// Refuse, as a *RefusedError. A finding of a module alone (its
// vulnerable functions not linked) and one the running binary has
// already are reported, not refused: refusing them would stop every
// rebuild of a binary until its vendor fixes it, and the rebuild does not
// make them worse.
func Decide(policy Policy, findings []Finding, introduced []bool) error {
	if policy != Refuse {
		return nil
	}
	for i, f := range findings {
		if introduced[i] && f.Reachable {
			return &RefusedError{Finding: f}
		}
	}
	return nil
}
