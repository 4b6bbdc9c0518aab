package modgen

import (
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// Plugin is one plugin package of a binary's plugin set: the type the
// bundle manifest records. For a local directory plugin, Dir is its
// module's root directory.
type Plugin = bundle.Plugin

// NewSet returns the plugin set of the new binary, sorted by path: the
// installed set less remove, then with added put in or moved to their new
// versions. remove holds module or package paths: a module path drops
// every package of that module, and a path that matches nothing installed
// is a *NotInstalledError. Re-pinning one package moves every installed
// package of its module with it, since a build holds one version of a
// module; two added specs that need one module at two versions are a
// *ConflictError. NewSet does not modify its arguments.
func NewSet(installed []Plugin, added []Resolved, remove []string) ([]Plugin, error) {
	set, err := removePlugins(installed, remove)
	if err != nil {
		return nil, err
	}
	if err := checkConflicts(added); err != nil {
		return nil, err
	}
	for _, a := range added {
		set = addPlugin(set, a.Plugin())
	}
	slices.SortFunc(set, func(a, b Plugin) int { return strings.Compare(a.Path, b.Path) })
	return set, nil
}

func removePlugins(installed []Plugin, remove []string) ([]Plugin, error) {
	set := slices.Clone(installed)
	for _, rm := range remove {
		named := func(p Plugin) bool { return p.Path == rm || p.Module == rm }
		if !slices.ContainsFunc(installed, named) {
			return nil, &NotInstalledError{Path: rm, Installed: pluginPaths(installed)}
		}
		set = slices.DeleteFunc(set, named)
	}
	return set, nil
}

// checkConflicts refuses added specs that disagree on a module.
func checkConflicts(added []Resolved) error {
	first := map[string]Resolved{}
	for _, a := range added {
		f, seen := first[a.Module]
		if !seen {
			first[a.Module] = a
			continue
		}
		if f.Version != a.Version || f.Dir != a.Dir {
			return &ConflictError{Module: a.Module, Specs: [2]string{f.Spec.Raw, a.Spec.Raw}, Have: [2]string{where(f), where(a)}}
		}
	}
	return nil
}

// where says where a resolved module comes from, for messages.
func where(r Resolved) string {
	if r.Dir != "" {
		return r.Dir
	}
	return r.Version
}

// addPlugin puts p into set in place of any plugin with its path, and
// moves the other packages of its module to its version.
func addPlugin(set []Plugin, p Plugin) []Plugin {
	set = slices.DeleteFunc(set, func(q Plugin) bool { return q.Path == p.Path })
	for i := range set {
		if set[i].Module == p.Module {
			set[i].Version, set[i].Dir = p.Version, p.Dir
		}
	}
	return append(set, p)
}

func pluginPaths(ps []Plugin) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	return out
}
