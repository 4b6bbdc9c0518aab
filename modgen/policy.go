package modgen

import (
	"golang.org/x/mod/module"
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
