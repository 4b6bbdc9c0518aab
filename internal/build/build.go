// Package build owns the host's tree during a rebuild: the source stage
// unpacks the bundled host source and dependency modules ([Unpack]), and
// the build stage links the new plugin set into the host's main package,
// writes the bundle the new binary carries ([Prepare]) and runs go build
// ([Prepared.Build]).
package build

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modtrim"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/treeindex"
	"github.com/selfcompile/go-selfcompile/modgen"
)

// LocalStoreDir is the directory, inside the module cache a bundle
// carries, that holds copies of local-directory plugins (see
// modgen.Request.LocalStore). The name has no dot, so it cannot be the
// first element of a module path.
const LocalStoreDir = "selfcompile-local"

// Tree is the host's unpacked source and module cache.
type Tree struct {
	// Root holds the source part: the host module under "module", local
	// replace directories under "replace".
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
	t.Module = filepath.Join(t.Root, "module")
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

// Input is what Prepare and Build build.
type Input struct {
	// Go runs the bundled go command with the build's environment.
	Go *gocmd.Runner
	// Tree is the unpacked host, its go.mod already holding the plugins.
	Tree *Tree
	// Bundle and Manifest are the running binary's bundle: the parts that
	// do not change (toolchain, helper) are copied from it.
	Bundle   fs.FS
	Manifest *bundle.Manifest
	// Plugins is the new plugin set; Graph the module graph with it (nil
	// when go.mod did not change), which decides what modules the new
	// bundle keeps.
	Plugins []bundle.Plugin
	Graph   *modgen.Graph
	// Flags are the original build's flags.
	Flags []string
	// Output is the file to write the binary to; its directory must exist.
	Output string
	// Record is what the new bundle records of this rebuild; Sums are
	// filled in from the tree's go.sum.
	Record *bundle.Rebuild
	// Trimmed, when set, completes the trimmed modules the build needs
	// (see modgen.Load); nil for a module cache with none.
	Trimmed modgen.Trimmed
	// Kept, when set, holds the parts the new bundle carries on unchanged,
	// copied already (CopyKeptParts); nil copies them with the others.
	Kept *KeptParts
	// Listed, when set, are the packages the build uses, listed with the
	// go.mod it builds with (modgen.Plan.Listed, with the host's packages
	// [Tree.HostPackages]): Prepare does not list them again.
	Listed []modgen.Listed
}

// Output is what Build built.
type Output struct {
	// Binary is the new binary, Input.Output.
	Binary string
	// Manifest is the manifest of the bundle it carries.
	Manifest *bundle.Manifest
	// BundleDir holds the new bundle's files, in the unpacked main package.
	BundleDir string
}

// Prepare links in.Plugins into the main package (see bundle.PluginsSource) and
// writes the new bundle beside them: all of the build but the go build,
// which Build runs. It compiles nothing, so it may run while the plugins
// are checked (it reads the module cache, and completes a trimmed module
// only through in.Trimmed).
func Prepare(ctx context.Context, in Input) (*Prepared, error) {
	t := in.Tree
	if err := bundle.WriteFileAtomic(filepath.Join(t.MainDir, bundle.PluginsFile), bundle.PluginsSource(in.Plugins, in.Manifest.MainPackage), 0o644); err != nil {
		return nil, err
	}
	mainPkg := t.MainPackage()
	// Every package, loaded once so that the module cache holds all that
	// the build needs before the modules part is written, trimmed modules
	// completed where the build needs more of them: modgen did so with the
	// plugins, or it is done here. The host module's other packages too,
	// as the generator does: what they use stays in the bundle (a plugin
	// may be one of them).
	listed := in.Listed
	if listed == nil {
		var err error
		listed, err = modgen.Load(ctx, modgen.LoadRequest{Go: in.Go, Dir: t.Module, Trimmed: in.Trimmed, Args: append(slices.Clone(in.Flags), t.HostPackages()...), NoMove: true})
		if err != nil {
			return nil, err
		}
	}
	pkgs, err := usedPackages(ctx, in, mainPkg, listed)
	if err != nil {
		return nil, err
	}
	m, err := writeBundle(in, pkgs, stdPackages(listed))
	if err != nil {
		return nil, fmt.Errorf("writing the new bundle: %w", err)
	}
	return &Prepared{in: in, mainPkg: mainPkg, manifest: m}, nil
}

// Prepared is a build whose sources and bundle are written.
type Prepared struct {
	in       Input
	mainPkg  string
	manifest *bundle.Manifest
}

// Build runs the go build, reporting to progress, when set, the packages
// it started compiling so far and how many it will compile. It calls
// depsDone, when set, once every package but the main one is compiled:
// when the go command starts compiling the main package (-v), or, if it
// never does, when it ends.
func (p *Prepared) Build(ctx context.Context, progress func(done, total int), depsDone func()) (*Output, error) {
	in, t := p.in, p.in.Tree
	args := append(append([]string{}, in.Flags...), "-o", in.Output, p.mainPkg)
	inv := gocmd.Invocation{Verb: "build", Args: args, WorkingDir: t.Module}
	if depsDone != nil {
		done := sync.OnceFunc(depsDone)
		defer done()
		main := in.Manifest.MainPackage
		inv.Compiled = func(pkg string) {
			if pkg == main {
				done()
			}
		}
	}
	var err error
	if progress != nil {
		_, err = in.Go.RunCounted(ctx, inv, in.Flags, []string{p.mainPkg}, progress)
	} else {
		_, err = in.Go.Run(ctx, inv)
	}
	if err != nil {
		return nil, err
	}
	return &Output{Binary: in.Output, Manifest: p.manifest, BundleDir: t.MainDir}, nil
}

// usedPackages returns the packages the new build uses on each platform
// the bundle keeps packages for (bundle.Manifest.TrimPlatforms): listed
// for this one, and go list for the others. Those are listed with
// -mod=readonly: a package another platform needs that no module of the
// build list holds is that platform's rebuild's to complete, and must not
// move a module here. When another platform cannot be listed, it returns
// nil: the new bundle then carries the modules as the module cache holds
// them, not trimmed again (larger, never short of a package).
func usedPackages(ctx context.Context, in Input, mainPkg string, listed []modgen.Listed) ([]modtrim.Package, error) {
	var pkgs []modtrim.Package
	add := func(ls []modgen.Listed) {
		for _, p := range ls {
			pkgs = append(pkgs, modtrim.Package{ImportPath: p.ImportPath, Dir: p.Dir, EmbedFiles: p.EmbedFiles, Cgo: p.UsesCgo()})
		}
	}
	add(listed)
	own := in.Manifest.GOOS + "/" + in.Manifest.GOARCH
	for _, p := range in.Manifest.TrimPlatforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if p == own || !ok {
			continue
		}
		args := append(append([]string{"-mod=readonly", "-e", "-deps", modgen.ListedJSON}, in.Flags...), mainPkg, "./...")
		out, err := in.Go.Run(ctx, gocmd.Invocation{Verb: "list", Args: args, WorkingDir: in.Tree.Module, Env: []string{"GOOS=" + goos, "GOARCH=" + goarch, "CGO_ENABLED=0"}})
		if err != nil {
			return nil, nil
		}
		ls, err := modgen.ParseListed(out)
		if err != nil {
			return nil, err
		}
		add(ls)
	}
	return pkgs, nil
}

// stdPackages returns the standard-library packages among listed, sorted:
// those no module provides, listed without an error.
func stdPackages(listed []modgen.Listed) []string {
	var std []string
	for _, p := range listed {
		if p.Module == nil && p.Error == nil {
			std = append(std, p.ImportPath)
		}
	}
	slices.Sort(std)
	return slices.Compact(std)
}

// writeBundle writes the new binary's bundle into the main package: the
// same toolchain and helper, the source with the host's own go.mod and the
// new go.sum, the modules the new build uses (trimmed to the packages
// pkgs, as the generator trims them: a module completed for this build
// keeps what the build uses of it, and a module whose files did not change
// has its compressed frame copied), the new plugin set, and the standard
// packages std the new build uses.
func writeBundle(in Input, pkgs []modtrim.Package, std []string) (*bundle.Manifest, error) {
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
	m.StdPackages = std
	if m.Slim != nil {
		// Slim again: what it fetched stays in the caches.
		return archive.Write(in.Tree.MainDir, m, map[string]archive.Source{bundle.SourceFile: {Entries: src, Gzip: true}})
	}
	mods, err := bundle.ModuleEntries(in.Tree.ModCache)
	if err != nil {
		return nil, err
	}
	if mods, err = pruneModules(mods, in.Graph, in.Plugins); err != nil {
		return nil, err
	}
	var trimmedNow []string
	if pkgs != nil {
		trim, err := modtrim.Trim(in.Tree.ModCache, mods, pkgs)
		if err != nil {
			return nil, err
		}
		mods = trim.Entries
		trimmedNow = trim.Trimmed
	}
	trimmed, err := stillTrimmed(mods, trimmedNow, readLines(filepath.Join(in.Tree.ModCache, trimmedRecord)))
	if err != nil {
		return nil, err
	}
	m.Trimmed = trimmed
	if len(m.TrimPlatforms) == 0 {
		m.TrimPlatforms = []string{m.GOOS + "/" + m.GOARCH}
	}
	parts[bundle.SourceFile] = archive.Archive(src, archive.LevelDefault)
	parts[bundle.ModulesFile] = archive.Framed(mods, archive.LevelDefault, &archive.Reuse{
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

// stillTrimmed returns the modules the new bundle carries in part: those
// trimming left files out of now, and those of the entries mods that the
// module cache itself holds trimmed (cached, as the record lists them), of
// which trimming finds nothing more to leave out.
func stillTrimmed(mods []bundle.Entry, now, cached []string) ([]string, error) {
	present := map[string]bool{}
	for _, e := range mods {
		if k := modtrim.ModuleKey(e.Name); k != "" && !present[k] {
			present[k] = true
		}
	}
	out := slices.Clone(now)
	for _, mv := range cached {
		m, v, _ := strings.Cut(mv, "@")
		k, err := modtrim.Key(module.Version{Path: m, Version: v})
		if err != nil {
			return nil, err
		}
		if present[k] && !slices.Contains(out, mv) {
			out = append(out, mv)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Prewarm adds the compiled standard packages of the bundle's
// bundle.StdCacheFile part (made by bundle -prewarm) to the go command's
// build cache gocache, once per part; entries already there are kept. It
// returns how many it added.
func Prewarm(fsys fs.FS, m *bundle.Manifest, gocache string) (int, error) {
	part, ok := m.Parts[bundle.StdCacheFile]
	if !ok {
		return 0, nil
	}
	marker := filepath.Join(gocache, ".selfcompile-prewarmed-"+part.SHA256[:16])
	if _, err := os.Stat(marker); err == nil {
		return 0, nil
	}
	if err := os.MkdirAll(gocache, 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(gocache, ".prewarm-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if err := ExtractPart(fsys, m, bundle.StdCacheFile, tmp); err != nil {
		return 0, err
	}
	added := 0
	err = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmp, p)
		dst := filepath.Join(gocache, rel)
		if _, err := os.Stat(dst); err == nil {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(p, dst); err != nil {
			return err
		}
		added++
		return nil
	})
	if err != nil {
		return added, err
	}
	return added, os.WriteFile(marker, nil, 0o644)
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
