package build

import (
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/assemble"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
)

// writeBundle writes the new binary's bundle into the main package: the
// same toolchain and helper, the source with the host's own go.mod and the
// new go.sum, the modules the new build uses (as the generator keeps them,
// package assemble: a module completed for this build keeps what the
// build uses of it, and a module whose files did not change has its
// compressed frame copied), and the new plugin set.
func writeBundle(in Input, u used) (*bundle.Manifest, error) {
	parts := keptSources(in.Bundle, in.Manifest)
	if in.Kept != nil {
		// Copied ahead into the main package: done before the source
		// tree is listed, which must not see their temporary files.
		var err error
		if parts, err = in.Kept.Wait(); err != nil {
			return nil, err
		}
	}
	src, err := sourceEntries(in.Tree)
	if err != nil {
		return nil, err
	}
	m := *in.Manifest
	m.Plugins = in.Plugins
	m.Rebuild = record(in)
	// The new binary is built from this bundle's source: nothing to
	// compare a VCS stamp with.
	m.Source = nil
	var entries []bundle.Entry
	if m.Slim == nil {
		// A slim bundle carries no modules: what it fetched stays in the
		// caches.
		if entries, err = bundle.ModuleEntries(in.Tree.ModCache); err != nil {
			return nil, err
		}
		if entries, err = pruneModules(entries, in.Graph, in.Plugins); err != nil {
			return nil, err
		}
	}
	mods, err := assemble.Assemble(assemble.Input{
		ModCache:  in.Tree.ModCache,
		Entries:   entries,
		Platforms: u.platforms,
		Listed:    u.listed,
		Whole:     u.whole,
		Held:      readLines(filepath.Join(in.Tree.ModCache, trimmedRecord)),
	})
	if err != nil {
		return nil, err
	}
	mods.Record(&m)
	if in.Switch != nil {
		if err := in.Switch.apply(&m, parts); err != nil {
			return nil, err
		}
	}
	if m.Slim != nil {
		return archive.Write(in.Tree.MainDir, m, map[string]archive.Source{bundle.SourceFile: {Entries: src, Gzip: true}})
	}
	parts[bundle.SourceFile] = archive.Archive(src, archive.LevelDefault)
	parts[bundle.ModulesFile] = archive.Framed(mods.Entries, archive.LevelDefault, &archive.Reuse{
		Open:   func() (io.ReadCloser, error) { return in.Bundle.Open(bundle.ModulesFile) },
		Frames: in.Manifest.ModuleFrames,
	})
	return archive.Write(in.Tree.MainDir, m, parts)
}

// keptSources are the parts of the bundle in fsys, with manifest m, that
// a rebuild's bundle carries on byte for byte: the toolchain, the helper
// and the optional parts it has.
func keptSources(fsys fs.FS, m *bundle.Manifest) map[string]archive.Source {
	parts := map[string]archive.Source{}
	for _, name := range slices.Concat([]string{bundle.ToolchainFile, bundle.HelperFile}, bundle.OptionalParts) {
		if p, ok := m.Parts[name]; ok {
			parts[name] = archive.Copy(func() (io.ReadCloser, error) { return fsys.Open(name) }, p)
		}
	}
	return parts
}

// KeptParts is the copy of the parts a new bundle carries on unchanged,
// made while the rest of the rebuild goes on (see CopyKeptParts).
type KeptParts struct {
	done  chan struct{}
	parts map[string]archive.Source
	err   error
}

// CopyKeptParts starts copying the parts of the bundle in fsys, with
// manifest m, that a new bundle carries on byte for byte (the toolchain,
// the helper, the optional parts) into dir, the main package directory,
// each checked against m, side by side. Nothing refers to them until the
// new bundle's stub is written, so the go commands that run meanwhile do
// not see them. Input.Kept takes them.
func CopyKeptParts(fsys fs.FS, m *bundle.Manifest, dir string) *KeptParts {
	k := &KeptParts{done: make(chan struct{})}
	go func() {
		defer close(k.done)
		k.parts, k.err = archive.WriteParts(dir, keptSources(fsys, m))
	}()
	return k
}

// Wait waits for the copies to end and returns them as the Sources of
// the parts (archive.Written), or what went wrong.
func (k *KeptParts) Wait() (map[string]archive.Source, error) {
	<-k.done
	if k.err != nil {
		return nil, k.err
	}
	return maps.Clone(k.parts), nil
}

// record completes the record of the rebuild with the go.sum lines of the
// plugins' modules.
func record(in Input) *bundle.Rebuild {
	if in.Record == nil {
		return nil
	}
	r := *in.Record
	r.Sums = nil
	gosum, _ := os.ReadFile(filepath.Join(in.Tree.Module, "go.sum"))
	mods := map[string]string{}
	for _, p := range in.Plugins {
		if p.Version != "" && p.Dir == "" {
			mods[p.Module] = p.Version
		}
	}
	for _, line := range strings.Split(string(gosum), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && mods[f[0]] == f[1] {
			r.Sums = append(r.Sums, line)
		}
	}
	return &r
}

// sourceEntries is the unpacked source as the new bundle carries it: the
// host's own go.mod, the go.sum that now also holds the plugins' sums (so
// the next rebuild verifies them offline), and no generated files.
func sourceEntries(t *Tree) ([]bundle.Entry, error) {
	root := t.Root
	gomod := filepath.Join(filepath.Dir(root), "host.go.mod")
	if err := os.WriteFile(gomod, t.GoMod, 0o600); err != nil {
		return nil, err
	}
	var entries []bundle.Entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || srctree.Skip(d.Name()) {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		e := bundle.Entry{Name: filepath.ToSlash(rel), Src: p}
		if e.Name == bundle.SourceGoMod {
			e.Src = gomod
		}
		entries = append(entries, e)
		return nil
	})
	return entries, err
}
