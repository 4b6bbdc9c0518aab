// Package build owns the host's tree during a rebuild. The source stage
// unpacks the bundled host source and dependency modules ([Unpack]) into
// a module cache that outlives the rebuild and is checked at every use
// ([Seal]; modcache.go), adds the bundle's compiled standard packages to
// the build cache ([Prewarm]), and completes a trimmed module a build
// needs more of ([Completer]). The build stage links the new plugin set
// into the host's main package and writes the bundle the new binary
// carries ([Prepare]; what it keeps is package assemble's decision, as
// for the generator; the parts it carries on unchanged are copied ahead,
// [CopyKeptParts]), then runs go build ([Prepared.Build]).
package build

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/treeindex"
)

// LocalStoreDir is the directory, inside the module cache a bundle
// carries, that holds copies of local-directory plugins (see
// modgen.Request.LocalStore). The name has no dot, so it cannot be the
// first element of a module path.
const LocalStoreDir = "selfcompile-local"

// Tree is the host's unpacked source and module cache.
type Tree struct {
	// Root holds the source part: the host module under
	// bundle.SourceModuleDir, local replace directories under
	// bundle.SourceReplaceDir.
	Root string
	// Module is the host module's root directory.
	Module string
	// MainDir is the host's main package directory.
	MainDir string
	// ModCache is the GOMODCACHE of the rebuild.
	ModCache string
	// GoMod is the host's go.mod as bundled, before any plugin: the new
	// bundle carries it again, so plugins are applied anew at every
	// rebuild and a removed one leaves no trace.
	GoMod []byte
}

// LocalStore is where copies of local-directory plugins live in t.
func (t *Tree) LocalStore() string { return filepath.Join(t.ModCache, LocalStoreDir) }

// HostPackages are the host's packages a build lists, beside the
// plugins: its main package and the rest of its module, as the generator
// lists them (a plugin may be one of them).
func (t *Tree) HostPackages() []string { return []string{t.MainPackage(), "./..."} }

// MainPackage is the host's main package as the go command names it in
// the module's root directory: "." or "./path".
func (t *Tree) MainPackage() string {
	if rel, err := filepath.Rel(t.Module, t.MainDir); err == nil && rel != "." {
		return "./" + filepath.ToSlash(rel)
	}
	return "."
}

// Unpack unpacks the source part of the bundle in fsys under work, and
// makes modCache hold the modules part: unpacked there, or already there
// from an earlier rebuild (see modCacheHolds). Each part is checked
// against the manifest m as it is unpacked. reused reports that the
// module cache was not unpacked again. unpacking, when set, is called
// before the modules are unpacked anew, with the tree whose source is
// already in place.
func Unpack(fsys fs.FS, m *bundle.Manifest, work, modCache string, unpacking func(*Tree)) (t *Tree, reused bool, err error) {
	t = &Tree{Root: filepath.Join(work, "src"), ModCache: modCache}
	t.Module = filepath.Join(t.Root, bundle.SourceModuleDir)
	t.MainDir = filepath.Join(t.Module, filepath.FromSlash(path.Clean(m.MainDir)))
	if err := ExtractPart(fsys, m, bundle.SourceFile, t.Root); err != nil {
		return nil, false, err
	}
	if m.Slim != nil {
		// A slim bundle carries no modules: the go command downloads
		// them through GOPROXY into the module cache, checked against
		// go.sum, and they stay there for the next rebuild, indexed by
		// Seal. A cache altered since is removed, to be downloaded anew.
		index := filepath.Join(modCache, modulesIndex)
		if _, err := os.Stat(index); err == nil {
			if bad, err := treeindex.Check(index, modCache, modIndex); err != nil || len(bad) > 0 {
				if err := srctree.RemoveAll(modCache); err != nil {
					return nil, false, fmt.Errorf("removing the altered module cache: %w", err)
				}
			}
		}
		if err := os.MkdirAll(modCache, 0o755); err != nil {
			return nil, false, err
		}
		t.GoMod, err = os.ReadFile(filepath.Join(t.Module, "go.mod"))
		return t, true, err
	}
	want := m.Parts[bundle.ModulesFile].SHA256
	if reused = modCacheHolds(modCache, want); !reused {
		if unpacking != nil {
			unpacking(t)
		}
		if err := unpackModules(fsys, m, modCache); err != nil {
			return nil, false, err
		}
	}
	t.GoMod, err = os.ReadFile(filepath.Join(t.Module, "go.mod"))
	return t, reused, err
}

// ExtractPart extracts the part named part of the bundle in fsys into dir,
// checked against the manifest m.
func ExtractPart(fsys fs.FS, m *bundle.Manifest, part, dir string) error {
	f, err := fsys.Open(part)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := archive.Extract(f, dir, m.Parts[part]); err != nil {
		return fmt.Errorf("unpacking %s: %w", part, err)
	}
	return nil
}
