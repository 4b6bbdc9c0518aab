// Package modtrim decides what of a module cache a bundle carries: of
// each dependency module, the package directories a build uses, its
// go.mod, the licence and notice files of its root and of every directory
// above a kept one, and the files kept packages embed (//go:embed). The
// rest of the module is left out, and the module is recorded as trimmed
// (bundle.Manifest.Trimmed), so that a rebuild that needs another of its
// packages downloads the whole module first (internal/build.Completer).
// A module with a package the build compiles with cgo is kept whole: its
// C code may reach any file of the module (#include "../include/x.h",
// -I${SRCDIR}/..., a static library in a directory of its own), and a
// missing one would fail the build, not ask for the module.
//
// Large modules are mostly packages a given program never builds:
// google.golang.org/api is 398 MB unpacked, of which a Caddy build uses a
// few packages.
package modtrim

import (
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/module"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// Package is a package of a build, as go list -json describes it.
type Package struct {
	ImportPath string
	Dir        string
	EmbedFiles []string
	// Cgo says the build compiles it with cgo (go list's CgoFiles or
	// SwigFiles are not empty).
	Cgo bool
}

// Result is what Trim kept and left out.
type Result struct {
	// Entries are the entries kept.
	Entries []bundle.Entry
	// Trimmed are the modules ("path@version") some of whose files were
	// left out, sorted.
	Trimmed []string
	// Modules counts the modules seen; KeptFiles, DroppedFiles and
	// KeptBytes, DroppedBytes the files of modules kept and left out.
	Modules                 int
	KeptFiles, DroppedFiles int
	KeptBytes, DroppedBytes int64
	// Dropped is the size of what was left out of each trimmed module
	// ("path@version").
	Dropped map[string]int64
}

// Trim keeps of entries, a module cache's files named relative to
// modcache (see bundle.ModuleEntries), what the build of pkgs uses (see
// the package doc). Entries that are not a module's files (the download
// cache's metadata, copies of local plugins) are all kept.
func Trim(modcache string, entries []bundle.Entry, pkgs []Package) (*Result, error) {
	used := map[string]bool{}      // slash-separated package directories, relative to modcache
	ancestors := map[string]bool{} // directories above a used one, inside its module
	embeds := map[string]bool{}    // embedded files, relative to modcache
	whole := map[string]bool{}     // modules kept whole
	for _, p := range pkgs {
		rel, ok := within(modcache, p.Dir)
		if !ok || ModuleKey(rel+"/") == "" {
			continue
		}
		used[rel] = true
		root := ModuleKey(rel + "/")
		if p.Cgo {
			whole[root] = true
		}
		for d := rel; d != root && d != "." && d != "/"; {
			d = path.Dir(d)
			ancestors[d] = true
		}
		for _, f := range p.EmbedFiles {
			embeds[path.Join(rel, filepath.ToSlash(f))] = true
		}
	}
	r := &Result{Dropped: map[string]int64{}}
	modules := map[string]bool{}
	trimmed := map[string]int64{}
	for _, e := range entries {
		k := ModuleKey(e.Name)
		if k == "" {
			r.Entries = append(r.Entries, e)
			continue
		}
		modules[k] = true
		size := fileSize(e.Src)
		if whole[k] || keep(e.Name, k, used, ancestors, embeds) {
			r.Entries = append(r.Entries, e)
			r.KeptFiles++
			r.KeptBytes += size
			continue
		}
		trimmed[k] += size
		r.DroppedFiles++
		r.DroppedBytes += size
	}
	r.Modules = len(modules)
	for k, size := range trimmed {
		mv, err := Version(k)
		if err != nil {
			return nil, err
		}
		r.Trimmed = append(r.Trimmed, mv.Path+"@"+mv.Version)
		r.Dropped[mv.Path+"@"+mv.Version] = size
	}
	sort.Strings(r.Trimmed)
	return r, nil
}

// keep decides for one file of module k.
func keep(name, k string, used, ancestors, embeds map[string]bool) bool {
	dir := path.Dir(name)
	switch {
	case used[dir], embeds[name], name == k+"/go.mod":
		return true
	case IsLicence(path.Base(name)):
		return dir == k || ancestors[dir]
	}
	return false
}

// IsLicence reports whether a file name is one of a licence, notice or
// copyright file, which travel with whatever of a module is copied.
func IsLicence(base string) bool {
	up := strings.ToUpper(base)
	for _, p := range []string{"LICENSE", "LICENCE", "COPYING", "NOTICE", "PATENTS", "COPYRIGHT", "UNLICENSE", "AUTHORS", "CONTRIBUTORS"} {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	return false
}

// ModuleKey returns the escaped "path@version" of the module whose
// extracted tree holds the module cache file name (slash-separated,
// relative to the module cache), or "" for any other file: the download
// cache and the copies of local plugins ("selfcompile-local/...").
func ModuleKey(name string) string {
	at := strings.Index(name, "@")
	if at < 0 || strings.HasPrefix(name, "cache/") || strings.HasPrefix(name, "selfcompile-") {
		return ""
	}
	slash := strings.Index(name[at:], "/")
	if slash < 0 {
		return ""
	}
	return name[:at+slash]
}

// Version returns the module version of an escaped "path@version" key.
func Version(key string) (module.Version, error) {
	escPath, escVer, _ := strings.Cut(key, "@")
	p, err := module.UnescapePath(escPath)
	if err != nil {
		return module.Version{}, err
	}
	v, err := module.UnescapeVersion(escVer)
	if err != nil {
		return module.Version{}, err
	}
	return module.Version{Path: p, Version: v}, nil
}

// Key returns the escaped "path@version" of m, as the module cache names
// its directory.
func Key(m module.Version) (string, error) {
	p, err := module.EscapePath(m.Path)
	if err != nil {
		return "", err
	}
	v, err := module.EscapeVersion(m.Version)
	if err != nil {
		return "", err
	}
	return p + "@" + v, nil
}

// within returns dir relative to root, slash-separated, if it lies inside.
func within(root, dir string) (string, bool) {
	if dir == "" {
		return "", false
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

func fileSize(name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return fi.Size()
}
