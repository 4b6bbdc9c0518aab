package build

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/treeindex"
)

// A module cache outlives the rebuild that unpacked it, so that the next
// rebuild of the same program does not unpack the same modules again: it
// records, in modulesMarker, the modules parts whose modules it holds (at
// least: a rebuild adds its plugins' modules and never removes one, so it
// holds those of the part it was unpacked from and of every part made
// from it since), and an index of its module trees (internal/treeindex)
// that is checked at every use. A module tree changed since is found, and
// the cache unpacked anew.
const (
	modulesMarker = ".selfcompile-modules"
	modulesIndex  = ".selfcompile-index"
)

// modIndex leaves out what the go command rewrites in place (the
// download cache's lists and locks; go.sum checks what it holds) and the
// record itself.
var modIndex = treeindex.Options{Skip: func(rel string) bool {
	return rel == "cache" || strings.HasPrefix(rel, ".selfcompile-")
}}

// modCacheHolds reports whether dir holds the modules of the modules part
// with sha256 want, unaltered.
func modCacheHolds(dir, want string) bool {
	data, err := os.ReadFile(filepath.Join(dir, modulesMarker))
	if err != nil || !slices.Contains(strings.Fields(string(data)), want) {
		return false
	}
	bad, err := treeindex.Check(filepath.Join(dir, modulesIndex), dir, modIndex)
	if err != nil || len(bad) > 0 {
		return false
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now) // in use: not stale
	return true
}

// unpackModules unpacks the modules part into dir, anew, and records it
// (see recordUnpacked).
func unpackModules(fsys fs.FS, m *bundle.Manifest, dir string) error {
	prev := readPrevious(dir)
	if err := srctree.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the module cache: %w", err)
	}
	if err := ExtractPart(fsys, m, bundle.ModulesFile, dir); err != nil {
		return err
	}
	if err := treeindex.Write(filepath.Join(dir, modulesIndex), dir, modIndex); err != nil {
		return fmt.Errorf("indexing the module cache: %w", err)
	}
	if err := recordUnpacked(dir, m.Trimmed, prev); err != nil {
		return fmt.Errorf("recording the module cache: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, modulesMarker), []byte(m.Parts[bundle.ModulesFile].SHA256), 0o644)
}

// Seal records that the module cache of t holds the modules of the
// bundle m (the new binary's) too, once the build made it from them: the
// next rebuild, from that binary or from the one before, uses it as it is.
func Seal(t *Tree, m *bundle.Manifest) error {
	if err := treeindex.Update(filepath.Join(t.ModCache, modulesIndex), t.ModCache, modIndex); err != nil {
		return err
	}
	if m.Slim != nil {
		return nil // no modules part to record
	}
	name := filepath.Join(t.ModCache, modulesMarker)
	data, _ := os.ReadFile(name)
	held := append(strings.Fields(string(data)), m.Parts[bundle.ModulesFile].SHA256)
	if len(held) > maxHeld {
		held = held[len(held)-maxHeld:]
	}
	return os.WriteFile(name, []byte(strings.Join(held, "\n")+"\n"), 0o644)
}

// maxHeld is how many modules parts a module cache remembers holding.
const maxHeld = 8
