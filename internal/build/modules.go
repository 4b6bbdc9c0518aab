package build

import (
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
)

// pruneModules keeps of a module cache's entries only what the new
// binary's module graph uses, and the copies of its local plugins: the
// modules of a removed plugin do not travel on forever. With no graph
// (no plugin changed the go.mod), every entry is kept.
func pruneModules(entries []bundle.Entry, graph *modgen.Graph, plugins []bundle.Plugin) ([]bundle.Entry, error) {
	if graph == nil {
		return entries, nil
	}
	used := map[module.Version]bool{}
	paths := map[string]bool{}
	mark := func(v module.Version) {
		used[v] = true
		paths[v.Path] = true
	}
	for m, reqs := range graph.Reqs {
		mark(m)
		for _, v := range reqs {
			mark(v)
		}
	}
	local := map[string]bool{}
	for _, p := range plugins {
		if p.Dir != "" {
			esc, err := module.EscapePath(p.Module)
			if err != nil {
				return nil, err
			}
			local[LocalStoreDir+"/"+esc+"/"] = true
		}
	}
	out := entries[:0:0]
	for _, e := range entries {
		if keepModuleEntry(e.Name, used, paths, local) {
			out = append(out, e)
		}
	}
	return out, nil
}

// keepModuleEntry decides for one module cache file (see pruneModules).
func keepModuleEntry(name string, used map[module.Version]bool, paths, local map[string]bool) bool {
	if strings.HasPrefix(name, LocalStoreDir+"/") {
		for prefix := range local {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		}
		return false
	}
	if rest, ok := strings.CutPrefix(name, "cache/download/"); ok {
		escPath, file, ok := strings.Cut(rest, "/@v/")
		path, err := module.UnescapePath(escPath)
		if !ok || err != nil {
			return true // not a shape we know: keep it
		}
		if file == "list" {
			return paths[path]
		}
		ver, err := module.UnescapeVersion(strings.TrimSuffix(file, filepath.Ext(file)))
		return err != nil || used[module.Version{Path: path, Version: ver}]
	}
	// An extracted module: ESCAPED_PATH@ESCAPED_VERSION/...
	at := strings.Index(name, "@")
	if at < 0 {
		return true
	}
	escVer, _, _ := strings.Cut(name[at+1:], "/")
	path, err1 := module.UnescapePath(name[:at])
	ver, err2 := module.UnescapeVersion(escVer)
	return err1 != nil || err2 != nil || used[module.Version{Path: path, Version: ver}]
}
