// Package generate implements "go-selfcompile bundle": it collects what a
// host needs to rebuild itself and writes the bundle files into the
// host's main package directory. It owns how each part is made: the
// platforms to bundle for (platforms.go), the host's go environment and
// main package (host.go), the rebuild helper (helper.go), the source part
// and its stamp (source.go, stamp.go), the dependency modules, which it
// loads into an empty module cache and keeps as package assemble decides
// (modules.go), the toolchain archive and its cache (toolchain.go), the
// external zstd command (zstd.go), and the report (report.go).
package generate

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modtrim"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
)

// Options configures Run. The zero value bundles the package in the
// current directory with default compression.
type Options struct {
	// Dir is the host's main package directory. Empty means the current directory.
	Dir string
	// Level is the zstd level of the toolchain archive, the largest part.
	// Zero means archive.LevelBest: the archive is built once per Go
	// version and cached, and decompresses as fast as the lower levels
	// (0.1 s for the 112 MB tree), while it is 2 MiB smaller than at better.
	Level archive.Level
	// Compressor compresses the toolchain archive at LevelBest: "" or
	// "auto" runs the zstd command (`zstd -19 --long=27`) when it is on
	// PATH and the zstd package otherwise; "go" always uses the package;
	// anything else is the zstd command to run. Both write a 128 MiB
	// window (archive.LongWindow); the command's archive is about 12%
	// smaller (18.3 MB against 20.7 MB for go1.26.8 linux/amd64) and is
	// checked by decoding it with the reader's own decoder.
	Compressor string
	// Prewarm adds the optional part that holds the compiled standard
	// packages the host uses (bundle.StdCacheFile), so that a first
	// rebuild does not compile them: the example's bundle grows by about
	// 7 MB and its first rebuild saves about 5 s. The entries hit when
	// the host is built with default settings for the standard library
	// (no -trimpath, -race or -gcflags); otherwise they are only unused.
	Prewarm bool
	// Platforms are the platforms to bundle for, as "GOOS/GOARCH". Nil
	// means the one go env names (GOOS and GOARCH when set, else the
	// running go's), in files with the single-platform names. Given, even
	// with one platform, the files one platform needs are named for it
	// (bundle.PlatformFile): one toolchain, helper and manifest per
	// platform, so that each GOOS=... GOARCH=... go build embeds only its
	// own, plus a stub for every other platform that says what is missing.
	// The toolchain for a platform other than the running go's is built
	// from the local GOROOT's source (see buildTools): the same Go
	// version, no download.
	Platforms []string
	// Slim embeds only the manifest and the host's source: a rebuild
	// fetches the toolchain (the golang.org/toolchain module of the Go
	// version and platform, whose checksum the generator records here,
	// as the checksum database has it) and the dependency modules through
	// GOPROXY, and builds the helper (package slim). The binary is some
	// 25 MiB smaller; its first rebuild needs the network.
	Slim bool
	// CacheDir keeps built toolchain archives between runs. Empty means
	// the user cache directory.
	CacheDir string
	// TrimPlatforms are more platforms ("GOOS/GOARCH"), beside those
	// bundled for, whose builds of the host the dependency modules keep
	// the packages of (see package internal/modtrim): a binary that
	// rebuilds for one of them later finds them without completing a
	// module. Empty means only the bundled platforms.
	TrimPlatforms []string
	// Tags are the build tag sets the host is built with, each as go
	// build -tags takes it ("sqlite,json1"): the dependency modules keep
	// the packages of a build with each set as well as of a build
	// without tags. A rebuild builds with the tags the running binary was
	// built with; a package only those use that the bundle lacks would
	// have to be downloaded (see internal/build.Completer).
	Tags []string
	// Stdout receives the report of what was written. Nil discards it.
	Stdout io.Writer
}

// Report describes a generated bundle.
type Report struct {
	// Manifest is the first platform's manifest, Manifests every
	// platform's, in the order of Options.Platforms.
	Manifest  *bundle.Manifest
	Manifests []*bundle.Manifest
	// Platforms are the platforms given in Options.Platforms, nil for a
	// single-platform bundle.
	Platforms []string
	Dir       string
	Files     map[string]int // shared part file name -> number of files archived
	// Toolchains says, per platform ("linux/arm64"), where its toolchain
	// archive came from: the cache, the local GOROOT, or built from its
	// source, and what compressed it.
	Toolchains map[string]string
	// Cached reports that every toolchain archive came from the cache.
	Cached bool
	// Replaced names cached toolchain archives that did not match their
	// recorded checksums and were rebuilt.
	Replaced []string
	// Removed are bundle files of an earlier run that this one no longer
	// writes (another platform set), removed so that no stale stub or
	// part is built.
	Removed []string
	// Trim is what trimming the dependency modules kept and left out.
	Trim *modtrim.Result
}

// goEnv is the subset of `go env` the generator uses.
type goEnv struct {
	GOROOT, GOOS, GOARCH, GOHOSTOS, GOHOSTARCH, GOVERSION, GOMOD, GOMODCACHE, GOPROXY, GOFLAGS string
}

// Run writes the bundle for the main package in opts.Dir.
func Run(ctx context.Context, opts Options) (*Report, error) {
	dir, err := filepath.Abs(cmp.Or(opts.Dir, "."))
	if err != nil {
		return nil, err
	}
	if opts.Level == 0 {
		opts.Level = archive.LevelBest
	}
	if opts.CacheDir == "" {
		if opts.CacheDir, err = defaultCacheDir(); err != nil {
			return nil, err
		}
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	g := &generator{dir: dir, opts: opts, run: newRunner()}
	return g.generate(ctx, out)
}

// newRunner runs the developer's own go command, in their environment.
func newRunner() *gocmd.Runner { return &gocmd.Runner{InheritEnv: true} }

// generator is one run: the main package directory, the options with
// their defaults, the developer's go command and its environment.
type generator struct {
	dir  string
	opts Options
	run  *gocmd.Runner
	env  goEnv
}

// generate makes every part of the bundle, then writes them and prints
// the report to out.
func (g *generator) generate(ctx context.Context, out io.Writer) (*Report, error) {
	m, modRoot, platforms, err := g.loadHost(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "go-selfcompile-bundle-*")
	if err != nil {
		return nil, err
	}
	defer removeAll(tmp)

	rep := &Report{Dir: g.dir, Files: map[string]int{}, Toolchains: map[string]string{}, Cached: true}
	if g.opts.Platforms != nil {
		for _, p := range platforms {
			rep.Platforms = append(rep.Platforms, p.String())
		}
	}
	shared, err := g.sharedParts(ctx, modRoot, tmp, platforms, m, rep)
	if err != nil {
		return nil, err
	}
	pgo := fileExists(filepath.Join(g.dir, "default.pgo"))
	// Everything that can fail for one platform (a helper or toolchain
	// that does not build, a toolchain module the proxy does not serve)
	// fails before any file of the bundle is written.
	var prepared []*platformParts
	for _, p := range platforms {
		pp, err := g.preparePlatform(ctx, p, *m, pgo, tmp, rep)
		if err != nil {
			return nil, err
		}
		prepared = append(prepared, pp)
	}
	if err := g.write(m, prepared, shared, rep); err != nil {
		return nil, err
	}
	rep.Manifest = rep.Manifests[0]
	printReport(out, rep)
	return rep, nil
}

// sharedParts makes the parts every platform's bundle holds: the source,
// and but for a slim bundle the dependency modules. It records in m what
// they are made of.
func (g *generator) sharedParts(ctx context.Context, modRoot, tmp string, platforms []platform, m *bundle.Manifest, rep *Report) (map[string]archive.Source, error) {
	srcEntries, err := g.sourceEntries(ctx, modRoot, tmp)
	if err != nil {
		return nil, err
	}
	rep.Files[bundle.SourceFile] = len(srcEntries)
	if m.Source, err = g.sourceStamp(ctx, modRoot, srcEntries); err != nil {
		return nil, err
	}
	if g.opts.Slim {
		// The host itself unpacks a slim bundle's source, to build the
		// helper: gzip, which it decodes with the standard library.
		return map[string]archive.Source{bundle.SourceFile: {Entries: srcEntries, Gzip: true}}, nil
	}
	mods, err := g.moduleEntries(ctx, modRoot, tmp, platforms, m)
	if err != nil {
		return nil, err
	}
	rep.Trim = mods.Trim
	rep.Files[bundle.ModulesFile] = len(mods.Entries)
	return map[string]archive.Source{
		bundle.SourceFile:  archive.Archive(srcEntries, archive.LevelDefault),
		bundle.ModulesFile: archive.Framed(mods.Entries, archive.LevelDefault, nil),
	}, nil
}

// write writes each platform's bundle, the shared parts once, and for a
// bundle of several platforms the stub of every other one, and removes
// the bundle files of an earlier run that this one did not write.
func (g *generator) write(m *bundle.Manifest, prepared []*platformParts, shared map[string]archive.Source, rep *Report) error {
	written := map[string]bool{}
	for _, pp := range prepared {
		p := pp.platform
		maps.Copy(pp.parts, shared)
		pm, err := archive.WritePlatform(g.dir, pp.manifest, pp.parts, rep.Platforms)
		if err != nil {
			return err
		}
		rep.Manifests = append(rep.Manifests, pm)
		// The shared parts are written once, by the first platform.
		shared[bundle.SourceFile] = archive.Written(pm.Parts[bundle.SourceFile], nil)
		if _, ok := shared[bundle.ModulesFile]; ok {
			shared[bundle.ModulesFile] = archive.Written(pm.Parts[bundle.ModulesFile], pm.ModuleFrames)
		}
		for _, name := range append([]string{bundle.StubFile, bundle.ManifestFile}, pm.PartNames()...) {
			if rep.Platforms != nil {
				name = bundle.PlatformFile(name, p.goos, p.goarch)
			}
			written[name] = true
		}
	}
	if rep.Platforms != nil {
		other := bundle.OtherPlatformsStub(m, rep.Platforms)
		if err := bundle.WriteFileAtomic(filepath.Join(g.dir, bundle.OtherPlatformsFile), other, 0o644); err != nil {
			return err
		}
		written[bundle.OtherPlatformsFile] = true
	}
	var err error
	rep.Removed, err = removeStale(g.dir, written)
	return err
}

// platformParts are the per-platform parts of one platform's bundle,
// ready to write, and its manifest.
type platformParts struct {
	platform platform
	manifest bundle.Manifest
	parts    map[string]archive.Source
}

// preparePlatform makes what the bundle for p holds of its own: its helper
// and toolchain (and compiled standard packages with -prewarm), or, for a
// slim bundle, the toolchain module's checksum. Nothing is written into
// the main package's directory.
func (g *generator) preparePlatform(ctx context.Context, p platform, m bundle.Manifest, pgo bool, tmp string, rep *Report) (*platformParts, error) {
	m.GOOS, m.GOARCH = p.goos, p.goarch
	pp := &platformParts{platform: p, parts: map[string]archive.Source{}}
	if g.opts.Slim {
		slim, err := g.toolchainModule(ctx, p, tmp)
		if err != nil {
			return nil, err
		}
		m.Slim = slim
		rep.Toolchains[p.String()] = "fetched at rebuild: " + toolchain.ModulePath + "@" + slim.Toolchain + " " + slim.ToolchainSum
		pp.manifest = m
		return pp, nil
	}
	helperPath, helperPart, err := g.buildHelper(ctx, tmp, p)
	if err != nil {
		return nil, err
	}
	tc, err := g.toolchainArchive(ctx, p, pgo, tmp)
	if err != nil {
		return nil, err
	}
	rep.Toolchains[p.String()] = tc.note
	rep.Cached = rep.Cached && tc.cached
	if tc.replaced != "" {
		rep.Replaced = append(rep.Replaced, tc.replaced)
	}
	pp.parts[bundle.ToolchainFile] = archive.Copy(func() (io.ReadCloser, error) { return os.Open(tc.path) }, tc.part)
	pp.parts[bundle.HelperFile] = archive.Copy(func() (io.ReadCloser, error) { return os.Open(helperPath) }, helperPart)
	if g.opts.Prewarm {
		stdEntries, err := g.stdCacheEntries(ctx, tmp, m.MainPackage, p)
		if err != nil {
			return nil, err
		}
		name := bundle.StdCacheFile
		if rep.Platforms != nil {
			name = bundle.PlatformFile(name, p.goos, p.goarch)
		}
		rep.Files[name] = len(stdEntries)
		pp.parts[bundle.StdCacheFile] = archive.Archive(stdEntries, archive.LevelBest)
	}
	pp.manifest = m
	return pp, nil
}

// removeStale removes the bundle files in dir that this run did not
// write: those of platforms no longer bundled, or the single-platform
// files after a bundle for several (and back), which would otherwise be
// compiled or embedded too.
func removeStale(dir string, written map[string]bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if written[e.Name()] || !e.Type().IsRegular() || !bundle.IsGenerated(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return removed, fmt.Errorf("removing the stale bundle file: %w", err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

func defaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (%v): set -cache", err)
	}
	return filepath.Join(dir, "go-selfcompile"), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// removeAll removes the generator's temporary tree; a failure to clean up
// does not fail the bundle, it is reported.
func removeAll(dir string) {
	if err := srctree.RemoveAll(dir); err != nil {
		fmt.Fprintf(os.Stderr, "go-selfcompile: warning: %v\n", err)
	}
}
