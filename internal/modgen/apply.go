package modgen

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// Edit is a change to the plugin requirements of a go.mod.
type Edit struct {
	// Plugins is the plugin set to require. Each module is required
	// directly at its version (an indirect requirement becomes direct); a
	// plugin with a Dir is also replaced by that directory. Plugins of the
	// host module need no line and are skipped.
	Plugins []Plugin
	// Drop lists modules whose require and replace lines go before
	// Plugins are added: the modules of removed plugins, when the go.mod
	// carries them from an earlier edit. Never list a module the host
	// requires itself: its requirement would be lost.
	Drop []string
}

// ApplyEdit applies e to the go.mod in modDir.
func ApplyEdit(modDir string, e Edit) error {
	name := filepath.Join(modDir, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	out, err := EditGoMod(name, data, e)
	if err != nil {
		return err
	}
	return os.WriteFile(name, out, 0o644)
}

// EditGoMod applies e to the go.mod data read from the file name and
// returns the new content. A plugin module pinned to a version that the
// go.mod replaces is an error: the replace would silently defeat the pin.
func EditGoMod(name string, data []byte, e Edit) ([]byte, error) {
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return nil, err
	}
	if f.Module == nil {
		return nil, fmt.Errorf("%s has no module line", name)
	}
	want, err := pluginModules(f.Module.Mod.Path, e.Plugins)
	if err != nil {
		return nil, err
	}
	for _, m := range e.Drop {
		if err := dropModule(f, m); err != nil {
			return nil, err
		}
	}
	f.Cleanup() // drops leave zeroed entries behind until cleaned up
	if err := checkReplaced(f, want); err != nil {
		return nil, err
	}
	f.SetRequireSeparateIndirect(requirements(f, want))
	for _, mod := range sortedKeys(want) {
		if p := want[mod]; p.Dir != "" {
			if err := f.AddReplace(mod, "", p.Dir, ""); err != nil {
				return nil, err
			}
		}
	}
	f.Cleanup()
	return f.Format()
}

// pluginModules returns the plugin set by module, without the host's.
func pluginModules(host string, plugins []Plugin) (map[string]Plugin, error) {
	want := map[string]Plugin{}
	for _, p := range plugins {
		if p.Module == host {
			continue
		}
		if p.Module == "" || p.Version == "" {
			return nil, fmt.Errorf("plugin %s has no module version", p.Path)
		}
		if q, ok := want[p.Module]; ok && (q.Version != p.Version || q.Dir != p.Dir) {
			return nil, fmt.Errorf("plugins %s and %s need module %s at two versions (%s and %s)", q.Path, p.Path, p.Module, q.Version, p.Version)
		}
		want[p.Module] = p
	}
	return want, nil
}

func dropModule(f *modfile.File, mod string) error {
	if err := f.DropRequire(mod); err != nil {
		return err
	}
	var vers []string
	for _, r := range f.Replace {
		if r.Old.Path == mod {
			vers = append(vers, r.Old.Version)
		}
	}
	for _, v := range vers {
		if err := f.DropReplace(mod, v); err != nil {
			return err
		}
	}
	return nil
}

// checkReplaced refuses a version pin that a replace directive overrides.
func checkReplaced(f *modfile.File, want map[string]Plugin) error {
	for _, r := range f.Replace {
		p, ok := want[r.Old.Path]
		if !ok || p.Dir != "" || (r.Old.Version != "" && r.Old.Version != p.Version) {
			continue
		}
		return fmt.Errorf("plugin module %s is replaced in the host's go.mod (=> %s), so version %s would not be used: install the plugin from that directory, or drop the replace from the host", r.Old.Path, r.New.String(), p.Version)
	}
	return nil
}

// requirements returns f's requirements with every plugin module
// required directly at its version.
func requirements(f *modfile.File, want map[string]Plugin) []*modfile.Require {
	var reqs []*modfile.Require
	seen := map[string]bool{}
	for _, r := range f.Require {
		req := &modfile.Require{Mod: r.Mod, Indirect: r.Indirect}
		if p, ok := want[r.Mod.Path]; ok {
			req = &modfile.Require{Mod: module.Version{Path: p.Module, Version: p.Version}}
		}
		if !seen[r.Mod.Path] {
			reqs = append(reqs, req)
		}
		seen[r.Mod.Path] = true
	}
	for _, mod := range sortedKeys(want) {
		if !seen[mod] {
			reqs = append(reqs, &modfile.Require{Mod: module.Version{Path: mod, Version: want[mod].Version}})
		}
	}
	return reqs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
