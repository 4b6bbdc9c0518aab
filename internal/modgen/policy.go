package modgen

import (
	"fmt"
	"strings"

	"golang.org/x/mod/module"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// An install policy lists the plugins a host lets be installed, as module
// path patterns in the syntax of GOPRIVATE (comma-separated globs, each
// matching a path and every path below it; see
// golang.org/x/mod/module.MatchPrefixPatterns). It is the host's setting,
// for hosts that let others ask for installs (an admin API, a chat
// command): what it refuses is refused before any network access, from
// the spec alone, and checked again against the module each plugin
// resolved to. An empty policy allows every plugin.

// CheckAllowed refuses, with a *SpecError of class ErrNotAllowed, a spec
// whose package path no pattern of allow matches, and a local directory
// (which no pattern names) whenever allow is set.
func CheckAllowed(specs []Spec, allow string) error {
	if allow == "" {
		return nil
	}
	for _, s := range specs {
		if s.Kind == LocalDir {
			return specErr(s.Raw, ErrNotAllowed, "local directories are not allowed: this program installs only plugins matching %q", allow)
		}
		if !module.MatchPrefixPatterns(allow, s.Path) {
			return specErr(s.Raw, ErrNotAllowed, "%s is not allowed: this program installs only plugins matching %q", s.Path, allow)
		}
	}
	return nil
}

// CheckAllowedModules refuses a plugin the plan resolved to a module
// that no pattern of allow matches: a package path can match a pattern
// that the module providing it, a shorter path, does not.
func (p *Plan) CheckAllowedModules(allow string) error {
	if allow == "" {
		return nil
	}
	for _, a := range p.Added {
		if a.Dir == "" && a.Version != "" && !module.MatchPrefixPatterns(allow, a.Module) {
			return specErr(a.Spec.Raw, ErrNotAllowed, "%s is provided by module %s, which is not allowed: this program installs only plugins matching %q", a.Path, a.Module, allow)
		}
	}
	return nil
}

// Unchecked is a module version the go command fetched without checking
// it against the checksum database, and the setting that made it so.
type Unchecked struct {
	Module, Version string
	Setting         string // e.g. "GONOSUMDB=example.com" or "GOSUMDB=off"
}

func (u Unchecked) String() string {
	return fmt.Sprintf("%s@%s was not checked against the checksum database (%s)", u.Module, u.Version, u.Setting)
}

// UncheckedModules lists the module versions that go.sum gained (before
// is it as it was, after as it is) without the checksum database checking
// them, under the go command's environment env: GOSUMDB=off, or a
// GONOSUMDB (or, where that is unset, GOPRIVATE) pattern that matches.
// A module a plugin brings from a private server, or from a proxy the
// user trusts alone, is then known only by the hash go.sum now records.
func UncheckedModules(before, after []byte, env []string) []Unchecked {
	setting := func(path string) string {
		if v, _ := gocmd.Lookup(env, "GOSUMDB"); v == "off" {
			return "GOSUMDB=off"
		}
		for _, k := range []string{"GONOSUMDB", "GOPRIVATE"} {
			if v, ok := gocmd.Lookup(env, k); ok && v != "" {
				if module.MatchPrefixPatterns(v, path) {
					return k + "=" + v
				}
				return "" // GONOSUMDB, when set, is the whole list
			}
		}
		return ""
	}
	had := map[string]bool{}
	for _, mv := range sumModules(before) {
		had[mv.Path+"@"+mv.Version] = true
	}
	var out []Unchecked
	for _, mv := range sumModules(after) {
		if had[mv.Path+"@"+mv.Version] {
			continue
		}
		if s := setting(mv.Path); s != "" {
			out = append(out, Unchecked{Module: mv.Path, Version: mv.Version, Setting: s})
		}
	}
	return out
}

// sumModules lists the module versions whose content a go.sum records
// (not the lines for their go.mod files alone).
func sumModules(gosum []byte) []module.Version {
	var out []module.Version
	for _, line := range strings.Split(string(gosum), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || strings.HasSuffix(f[1], "/go.mod") {
			continue
		}
		out = append(out, module.Version{Path: f[0], Version: f[1]})
	}
	return out
}
