// Package goswitch owns the choice of the Go toolchain a rebuild moves to
// (Options.Toolchain): which requests are well formed, which release of
// the golang.org/toolchain module list a request selects for a platform,
// and whether a plugin's go line is within a toolchain's reach. It is
// light (the host's prepare links it to refuse a malformed request before
// any work); fetching and installing the toolchain is the helper's
// (internal/rebuild).
package goswitch

import (
	"fmt"
	"go/version"
	"strings"
)

// The requests besides an exact release ("go1.26.9"); the empty request
// keeps the bundled toolchain.
const (
	// Patch is the newest patch release of the bundled toolchain's minor
	// version (go1.26.x for go1.26.8).
	Patch = "patch"
	// Latest is the newest release, whatever its minor version.
	Latest = "latest"
)

// Check refuses a malformed request, in one line naming it and the forms
// accepted.
func Check(req string) error {
	switch req {
	case "", Patch, Latest:
		return nil
	}
	if !IsRelease(req) {
		return fmt.Errorf("toolchain %q: want %q, %q or a Go release such as \"go1.26.9\" (Options.Toolchain, --go)", req, Patch, Latest)
	}
	return nil
}

// IsRelease reports whether v names a Go release with its patch number,
// as golang.org/toolchain versions do since go1.21.0: "go1.26.9", not a
// release candidate, a beta or a language version ("go1.26"). It parses
// by hand, without go/version, because every host links it (Check): three
// decimal numbers without leading zeros after "go".
func IsRelease(v string) bool {
	rest, ok := strings.CutPrefix(v, "go")
	if !ok {
		return false
	}
	parts, start := 0, 0
	for i := 0; i <= len(rest); i++ {
		if i < len(rest) && '0' <= rest[i] && rest[i] <= '9' {
			continue
		}
		if i < len(rest) && rest[i] != '.' {
			return false
		}
		if n := i - start; n == 0 || (n > 1 && rest[start] == '0') {
			return false
		}
		parts, start = parts+1, i+1
	}
	return parts == 3
}

// Minor is the language version of a Go release: "go1.26" for
// "go1.26.8".
func Minor(v string) string { return version.Lang(v) }

// Compare compares two Go versions ("go1.26.8", "go1.27"), as
// go/version does: -1, 0 or +1.
func Compare(a, b string) int { return version.Compare(a, b) }

// Suffix is what ends the golang.org/toolchain versions of goos/goarch.
func Suffix(goos, goarch string) string { return "." + goos + "-" + goarch }

// ModuleVersion is the golang.org/toolchain version that holds the
// distribution of release v for goos/goarch.
func ModuleVersion(v, goos, goarch string) string {
	return "v0.0.1-" + v + Suffix(goos, goarch)
}

// Releases lists the Go releases of goos/goarch among the
// golang.org/toolchain module versions given (go list -m -versions),
// leaving out other platforms, release candidates and betas.
func Releases(versions []string, goos, goarch string) []string {
	var out []string
	for _, mv := range versions {
		v, ok := strings.CutPrefix(mv, "v0.0.1-")
		if !ok {
			continue
		}
		if v, ok = strings.CutSuffix(v, Suffix(goos, goarch)); ok && IsRelease(v) {
			out = append(out, v)
		}
	}
	return out
}

// Select is the release req selects for a toolchain now at bundled:
// req itself when it names one; the newest of releases (see Releases)
// for Latest, or of bundled's minor version for Patch. A Patch or Latest
// request never selects a release older than bundled: bundled itself is
// returned then, nothing to switch. An error says none was found.
func Select(req, bundled string, releases []string) (string, error) {
	if err := Check(req); err != nil {
		return "", err
	}
	switch req {
	case "":
		return bundled, nil
	case Patch, Latest:
	default:
		return req, nil
	}
	best := ""
	for _, v := range releases {
		if req == Patch && Minor(v) != Minor(bundled) {
			continue
		}
		if best == "" || Compare(v, best) > 0 {
			best = v
		}
	}
	if best == "" || Compare(best, bundled) <= 0 {
		return bundled, nil
	}
	return best, nil
}

// GoLine is a go.mod go line as a Go version: "go1.27" for "1.27",
// "go1.26.3" for "1.26.3".
func GoLine(line string) string { return "go" + line }

// Needs reports whether a module whose go.mod says go line (e.g.
// "1.27.0") needs a newer toolchain than have: the go command refuses to
// build it with have (GOTOOLCHAIN=local).
func Needs(line, have string) bool {
	return line != "" && Compare(GoLine(line), have) > 0
}

// Allow says which request would let a rebuild now asking req (and
// building with have, which req selected) build a module whose go line
// is above have: Patch when the line is within bundled's minor version,
// Latest otherwise; empty when req is Latest already, which no request
// goes beyond.
func Allow(req, line, bundled string) string {
	switch {
	case req == Latest:
		return ""
	case req == "" && Minor(GoLine(line)) == Minor(bundled):
		return Patch
	}
	return Latest
}
