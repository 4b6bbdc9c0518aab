package modgen

import (
	"fmt"
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
// *ConflictError, and an added spec that would move an installed plugin
// pinned at an exact version (and not asked again) is a *PinError.
// NewSet does not modify its arguments.
func NewSet(installed []Plugin, added []Resolved, remove []string) ([]Plugin, error) {
	set, err := removePlugins(installed, remove)
	if err != nil {
		return nil, err
	}
	if err := checkConflicts(added); err != nil {
		return nil, err
	}
	if err := checkPins(set, added); err != nil {
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

// PinError reports a spec that needs a module at another version than a
// plugin of the same module that was installed at an exact version: the
// build holds one version of each module, and a pin moves only when
// asked.
type PinError struct {
	Spec   string // the spec, as given
	Path   string // its package
	Module string
	Have   string // what the spec resolved to: a version, or a directory
	Pinned Plugin // the installed plugin it would move
}

func (e *PinError) Error() string {
	p := e.Pinned
	return fmt.Sprintf("plugin %q needs %s at %s, but plugin %s is pinned at %s, and a build holds one version of a module: ask %s@%s, or move both (%s %s@%s)",
		e.Spec, e.Module, e.Have, p.Path, p.Version, e.Path, p.Version, e.Spec, p.Path, e.Have)
}

// checkPins refuses an added spec that moves a plugin of set pinned at
// an exact version, unless that plugin is asked again too.
func checkPins(set []Plugin, added []Resolved) error {
	asked := map[string]bool{}
	for _, a := range added {
		asked[a.Path] = true
	}
	for _, a := range added {
		for _, q := range set {
			if q.Module == a.Module && !asked[q.Path] && Pinned(q) && (q.Version != a.Version || q.Dir != a.Dir) {
				return &PinError{Spec: a.Spec.Raw, Path: a.Path, Module: a.Module, Have: where(a), Pinned: q}
			}
		}
	}
	return nil
}

// Pinned reports whether p was installed at an exact version, which
// stays until it is asked again (upgrade leaves it).
func Pinned(p Plugin) bool {
	return p.Dir == "" && p.Version != "" && p.Query == p.Version
}

// MovedPlugins returns, for each plugin of installed that is still in set at
// another version or directory without being among added, a one-line
// note saying so: a build holds one version of a module, so adding or
// re-pinning one of its packages moves the others.
func MovedPlugins(installed, set []Plugin, added []Resolved) []string {
	asked := map[string]Resolved{}
	for _, a := range added {
		asked[a.Path] = a
	}
	var notes []string
	for _, old := range installed {
		i := slices.IndexFunc(set, func(p Plugin) bool { return p.Path == old.Path })
		if i < 0 || asked[old.Path].Path != "" || (set[i].Version == old.Version && set[i].Dir == old.Dir) {
			continue
		}
		by := ""
		for _, a := range added {
			if a.Module == old.Module {
				by = a.Spec.Raw
				break
			}
		}
		notes = append(notes, fmt.Sprintf("plugin %s moves from %s to %s with %s: they share module %s, and a build holds one version of a module", old.Path, wherePlugin(old), wherePlugin(set[i]), by, old.Module))
	}
	return notes
}

func wherePlugin(p Plugin) string {
	if p.Dir != "" {
		return p.Dir
	}
	return p.Version
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
