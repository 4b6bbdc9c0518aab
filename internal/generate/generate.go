// Package generate implements "go-selfcompile bundle": it collects what a
// host needs to rebuild itself (a trimmed toolchain, the host module's
// source, local replace directories and the dependency modules) and writes
// the bundle files into the host's main package directory.
package generate

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/bits"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modtrim"
	"github.com/selfcompile/go-selfcompile/internal/proc"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/toolchain"
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
	dir, err := filepath.Abs(cmpOr(opts.Dir, "."))
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

type generator struct {
	dir  string
	opts Options
	run  *gocmd.Runner
	env  goEnv
}

type listedPackage struct {
	ImportPath          string
	Name                string
	Dir                 string
	EmbedFiles          []string
	CgoFiles, SwigFiles []string
	Module              *struct{ Path, Dir, GoMod string }
}

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
	srcEntries, err := g.sourceEntries(ctx, modRoot, tmp)
	if err != nil {
		return nil, err
	}
	rep.Files[bundle.SourceFile] = len(srcEntries)
	if m.Source, err = g.sourceStamp(ctx, modRoot, srcEntries); err != nil {
		return nil, err
	}
	shared := map[string]archive.Source{bundle.SourceFile: archive.Archive(srcEntries, archive.LevelDefault)}
	if g.opts.Slim {
		// The host itself unpacks a slim bundle's source, to build the
		// helper: gzip, which it decodes with the standard library.
		shared[bundle.SourceFile] = archive.Source{Entries: srcEntries, Gzip: true}
	}
	if !g.opts.Slim {
		trim, err := g.moduleEntries(ctx, modRoot, tmp, platforms, m)
		if err != nil {
			return nil, err
		}
		rep.Trim = trim
		rep.Files[bundle.ModulesFile] = len(trim.Entries)
		shared[bundle.ModulesFile] = archive.Framed(trim.Entries, archive.LevelDefault, nil)
	}
	pgo := fileExists(filepath.Join(g.dir, "default.pgo"))
	written := map[string]bool{}
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
	for _, pp := range prepared {
		p := pp.platform
		maps.Copy(pp.parts, shared)
		pm, err := archive.WritePlatform(g.dir, pp.manifest, pp.parts, rep.Platforms)
		if err != nil {
			return nil, err
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
			return nil, err
		}
		written[bundle.OtherPlatformsFile] = true
	}
	if rep.Removed, err = removeStale(g.dir, written); err != nil {
		return nil, err
	}
	rep.Manifest = rep.Manifests[0]
	printReport(out, rep)
	return rep, nil
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

// toolchainModule looks up, with the go command and the user's settings
// (GOPROXY, GOSUMDB), the golang.org/toolchain module version a slim
// bundle for p fetches, and its checksum: go mod download checks it
// against the checksum database.
func (g *generator) toolchainModule(ctx context.Context, p platform, tmp string) (*bundle.Slim, error) {
	version := toolchain.ModuleVersion(g.env.GOVERSION, p.goos, p.goarch)
	var out bytes.Buffer
	_, err := g.run.Run(ctx, gocmd.Invocation{Verb: "mod", Args: []string{"download", "-json", toolchain.ModulePath + "@" + version}, WorkingDir: tmp, Env: []string{"GOFLAGS=-modcacherw"}, Stdout: &out})
	var dl struct{ Sum, Error string }
	if jerr := json.Unmarshal(out.Bytes(), &dl); err != nil && jerr == nil && dl.Error != "" {
		err = errors.New(dl.Error) // the go command's own words
	}
	if err == nil && dl.Sum == "" {
		err = errors.New("no checksum")
	}
	if err != nil {
		return nil, fmt.Errorf("-slim: the %s toolchain %s@%s is not available through GOPROXY (%v): bundle that platform in full (without -slim)", p, toolchain.ModulePath, version, err)
	}
	return &bundle.Slim{Toolchain: version, ToolchainSum: dl.Sum}, nil
}

// platform is one GOOS/GOARCH pair.
type platform struct{ goos, goarch string }

func (p platform) String() string { return p.goos + "/" + p.goarch }

// env is what makes the go command build for p.
func (p platform) env() []string { return []string{"GOOS=" + p.goos, "GOARCH=" + p.goarch} }

// platforms checks Options.Platforms against the platforms the go command
// knows (go tool dist list), before any work: nil means go env's.
func (g *generator) platforms(ctx context.Context) ([]platform, error) {
	if g.opts.Platforms == nil {
		return []platform{{g.env.GOOS, g.env.GOARCH}}, nil
	}
	if len(g.opts.Platforms) == 0 {
		return nil, errors.New("-platforms is empty: name at least one GOOS/GOARCH, e.g. linux/amd64")
	}
	out, err := g.run.Run(ctx, gocmd.Invocation{Verb: "tool", Args: []string{"dist", "list"}, WorkingDir: g.dir})
	if err != nil {
		return nil, fmt.Errorf("listing the platforms go supports: %w", err)
	}
	known := strings.Fields(string(out))
	var ps []platform
	seen := map[string]bool{}
	for _, name := range g.opts.Platforms {
		name = strings.TrimSpace(name)
		goos, goarch, ok := strings.Cut(name, "/")
		if !ok || !slices.Contains(known, name) {
			return nil, fmt.Errorf("-platforms: %q is not a platform %s supports (go tool dist list names them, e.g. linux/arm64)", name, g.env.GOVERSION)
		}
		if seen[name] {
			return nil, fmt.Errorf("-platforms: %s is named twice", name)
		}
		seen[name] = true
		ps = append(ps, platform{goos, goarch})
	}
	// The go command builds a file named for linux on android too, for
	// darwin on ios, for solaris on illumos: both stubs would compile.
	for _, pair := range [][2]string{{"android", "linux"}, {"ios", "darwin"}, {"illumos", "solaris"}} {
		for _, p := range ps {
			if p.goos == pair[0] && seen[pair[1]+"/"+p.goarch] {
				return nil, fmt.Errorf("-platforms: %s and %s/%s cannot be bundled together: go build compiles files named for %s into %s programs too", p, pair[1], p.goarch, pair[1], pair[0])
			}
		}
	}
	return ps, nil
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

// stdCacheEntries compiles the standard packages the main package uses
// on p into an empty build cache, with the go command that the bundle
// carries (the toolchain is this one, or for another platform the same
// version built from the same source: the compiler's output, and so the
// cache keys, are the same), and lists that cache's entries.
func (g *generator) stdCacheEntries(ctx context.Context, tmp, mainPkg string, p platform) ([]bundle.Entry, error) {
	out, err := g.run.Run(ctx, gocmd.Invocation{Verb: "list", Args: []string{"-deps", "-f", "{{if .Standard}}{{.ImportPath}}{{end}}", mainPkg}, Env: p.env(), WorkingDir: g.dir})
	if err != nil {
		return nil, fmt.Errorf("listing the standard packages to pre-warm for %s: %w", p, err)
	}
	cache := filepath.Join(tmp, "gocache-"+p.goos+"_"+p.goarch)
	args := append([]string{}, strings.Fields(string(out))...)
	if _, err := g.run.Run(ctx, gocmd.Invocation{Verb: "build", Args: args, Env: append(p.env(), "GOCACHE="+cache), WorkingDir: g.dir}); err != nil {
		return nil, fmt.Errorf("compiling the standard packages to pre-warm: %w", err)
	}
	var entries []bundle.Entry
	err = filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(cache, p)
		if rel == "README" || rel == "trim.txt" {
			return nil
		}
		entries = append(entries, bundle.Entry{Name: filepath.ToSlash(rel), Src: p})
		return nil
	})
	return entries, err
}

// loadHost reads the go environment and the main package, refuses what
// cannot be bundled, and returns the manifest to fill, the module root and
// the platforms to bundle for.
func (g *generator) loadHost(ctx context.Context) (*bundle.Manifest, string, []platform, error) {
	envJSON, err := g.run.Run(ctx, gocmd.Invocation{Verb: "env", Args: []string{"-json", "GOROOT", "GOOS", "GOARCH", "GOHOSTOS", "GOHOSTARCH", "GOVERSION", "GOMOD", "GOMODCACHE", "GOPROXY", "GOFLAGS"}, WorkingDir: g.dir})
	if err != nil {
		return nil, "", nil, err
	}
	if err := json.Unmarshal(envJSON, &g.env); err != nil {
		return nil, "", nil, fmt.Errorf("parsing go env: %w", err)
	}
	platforms, err := g.platforms(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	if g.env.GOMOD == "" || g.env.GOMOD == os.DevNull {
		return nil, "", nil, fmt.Errorf("%s is not inside a Go module: go-selfcompile bundle needs the host's go.mod", g.dir)
	}
	main, err := g.listOne(ctx, g.dir, ".")
	if err != nil {
		return nil, "", nil, err
	}
	if main.Name != "main" {
		return nil, "", nil, fmt.Errorf("package %s in %s is package %s, not main: run go-selfcompile bundle in the host's main package directory", main.ImportPath, g.dir, main.Name)
	}
	modRoot := filepath.Dir(g.env.GOMOD)
	mainDir, err := filepath.Rel(modRoot, g.dir)
	if err != nil {
		return nil, "", nil, err
	}
	m := &bundle.Manifest{
		Format:      bundle.FormatVersion,
		GoVersion:   g.env.GOVERSION,
		GOOS:        g.env.GOOS,
		GOARCH:      g.env.GOARCH,
		MainPackage: main.ImportPath,
		MainDir:     filepath.ToSlash(mainDir),
		Parts:       map[string]bundle.Part{},
	}
	if main.Module != nil {
		m.Module = main.Module.Path
	}
	return m, modRoot, platforms, nil
}

// buildHelper builds the helper (the go-selfcompile command) for p, in the host's module so that it is the version of
// go-selfcompile the host links, and compresses it for the helper part:
// one gzip stream, which the host unpacks with the standard library alone.
// CGO_ENABLED=0: it must run wherever the host runs.
func (g *generator) buildHelper(ctx context.Context, tmp string, p platform) (string, bundle.Part, error) {
	exe := filepath.Join(tmp, "helper-"+p.goos+"_"+p.goarch, bundle.HelperName)
	if p.goos == "windows" {
		exe += ".exe"
	}
	_, err := g.run.Run(ctx, gocmd.Invocation{
		Verb:       "build",
		Args:       []string{"-trimpath", "-ldflags=-s -w", "-o", exe, bundle.HelperPackage},
		Env:        append(p.env(), "CGO_ENABLED=0"),
		WorkingDir: g.dir,
	})
	if err != nil {
		return "", bundle.Part{}, fmt.Errorf("building the rebuild helper %s for %s: %w", bundle.HelperPackage, p, err)
	}
	gz := exe + ".gz"
	if err := gzipFile(exe, gz); err != nil {
		return "", bundle.Part{}, fmt.Errorf("compressing the rebuild helper: %w", err)
	}
	part, err := archive.FilePart(gz)
	return gz, part, err
}

// gzipFile writes src gzip-compressed at the best level to dst.
func gzipFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return bundle.CreateAtomic(dst, 0o644, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := io.Copy(zw, in); err != nil {
			return err
		}
		return zw.Close()
	})
}

func printReport(out io.Writer, rep *Report) {
	for _, r := range rep.Replaced {
		fmt.Fprintf(out, "go-selfcompile: the cached toolchain archive %s did not match its checksum: rebuilt it\n", r)
	}
	m := rep.Manifest
	if rep.Platforms == nil {
		fmt.Fprintf(out, "go-selfcompile: bundled %s (%s, %s/%s) in %s\n", m.MainPackage, m.GoVersion, m.GOOS, m.GOARCH, rep.Dir)
	} else {
		fmt.Fprintf(out, "go-selfcompile: bundled %s (%s) in %s for %s\n", m.MainPackage, m.GoVersion, rep.Dir, strings.Join(rep.Platforms, ", "))
	}
	switch src := m.Source; {
	case src == nil:
	case src.Revision == "":
		fmt.Fprintf(out, "  note: no git stamp to compare a binary with (not a git work tree, or it does not ignore selfcompile_bundle*): only go-selfcompile bundle -check tells a stale bundle\n")
	case src.Modified:
		fmt.Fprintf(out, "  note: the git tree has uncommitted changes: a rebuild cannot tell a binary built after further edits; go-selfcompile bundle -check can\n")
	}
	if t := rep.Trim; t != nil {
		fmt.Fprintf(out, "  dependency modules trimmed to the packages the build uses (%s): %d of %d modules; kept %d files (%s), left out %d files (%s)\n",
			strings.Join(m.TrimPlatforms, ", "), len(t.Trimmed), t.Modules, t.KeptFiles, HumanSize(t.KeptBytes), t.DroppedFiles, HumanSize(t.DroppedBytes))
		most := slices.Clone(t.Trimmed)
		slices.SortFunc(most, func(a, b string) int { return cmp.Compare(t.Dropped[b], t.Dropped[a]) })
		for _, mv := range most[:min(len(most), 5)] {
			fmt.Fprintf(out, "    %-60s -%s\n", mv, HumanSize(t.Dropped[mv]))
		}
	}
	line := func(name string, size int64, note string) {
		fmt.Fprintf(out, "  %-52s %9s%s\n", name, HumanSize(size), note)
	}
	for _, pm := range rep.Manifests {
		var total int64
		if rep.Platforms != nil {
			fmt.Fprintf(out, "  %s:\n", pm.GOOS+"/"+pm.GOARCH)
		}
		for _, name := range pm.PartNames() {
			p := pm.Parts[name]
			total += p.Size
			file := name
			if rep.Platforms != nil {
				file = bundle.PlatformFile(name, pm.GOOS, pm.GOARCH)
			}
			note := ""
			if n, ok := rep.Files[file]; ok {
				note = fmt.Sprintf(" (%d files)", n)
			} else if name == bundle.ToolchainFile {
				note = " (" + rep.Toolchains[pm.GOOS+"/"+pm.GOARCH] + ")"
			}
			line(file, p.Size, note)
		}
		line("total", total, "")
	}
	for _, name := range rep.Removed {
		fmt.Fprintf(out, "  removed the stale %s\n", name)
	}
}

// HumanSize formats a byte count as the reports print it: MiB, KiB or B.
func HumanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (g *generator) listOne(ctx context.Context, dir, pattern string) (*listedPackage, error) {
	pkgs, err := g.list(ctx, dir, nil, pattern)
	if err != nil {
		return nil, err
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("go list %s in %s: %d packages, want 1", pattern, dir, len(pkgs))
	}
	return &pkgs[0], nil
}

func (g *generator) list(ctx context.Context, dir string, env []string, args ...string) ([]listedPackage, error) {
	stdout, err := g.run.Run(ctx, gocmd.Invocation{
		Verb:       "list",
		Args:       append([]string{"-e=false", "-json=ImportPath,Name,Dir,EmbedFiles,CgoFiles,SwigFiles,Module"}, args...),
		Env:        env,
		WorkingDir: dir,
	})
	if err != nil {
		return nil, err
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(stdout))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("parsing go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// sourceEntries archives the host module under "module/" and each local
// replace directory under "replace/N/", with the archived go.mod rewritten
// to point at those copies.
func (g *generator) sourceEntries(ctx context.Context, modRoot, tmp string) ([]bundle.Entry, error) {
	data, err := os.ReadFile(filepath.Join(modRoot, "go.mod"))
	if err != nil {
		return nil, err
	}
	mf, err := modfile.Parse(filepath.Join(modRoot, "go.mod"), data, nil)
	if err != nil {
		return nil, err
	}
	entries, err := g.treeEntries(ctx, modRoot, "module")
	if err != nil {
		return nil, err
	}
	seen := map[string]string{} // directory -> archive prefix
	for _, r := range mf.Replace {
		if !modfile.IsDirectoryPath(r.New.Path) {
			continue
		}
		src := r.New.Path
		if !filepath.IsAbs(src) {
			src = filepath.Join(modRoot, src)
		}
		src = filepath.Clean(src)
		prefix, ok := seen[src]
		if !ok {
			prefix = fmt.Sprintf("replace/%d", len(seen))
			seen[src] = prefix
			es, err := g.treeEntries(ctx, src, prefix)
			if err != nil {
				return nil, fmt.Errorf("bundling replace directory %s for %s: %w", r.New.Path, r.Old.Path, err)
			}
			entries = append(entries, es...)
		}
		if err := mf.AddReplace(r.Old.Path, r.Old.Version, "../"+prefix, ""); err != nil {
			return nil, err
		}
	}
	mf.Cleanup()
	rewritten, err := mf.Format()
	if err != nil {
		return nil, err
	}
	gomod := filepath.Join(tmp, "go.mod")
	if err := os.WriteFile(gomod, rewritten, 0o644); err != nil {
		return nil, err
	}
	entries = slices.DeleteFunc(entries, func(e bundle.Entry) bool { return e.Name == "module/go.mod" })
	return append(entries, bundle.Entry{Name: "module/go.mod", Src: gomod}), nil
}

// treeEntries lists a module tree's build inputs (see srctree.Files)
// under prefix in the archive.
func (g *generator) treeEntries(ctx context.Context, root, prefix string) ([]bundle.Entry, error) {
	files, err := srctree.Files(ctx, g.run, root)
	if err != nil {
		return nil, err
	}
	out := make([]bundle.Entry, len(files))
	for i, f := range files {
		out[i] = bundle.Entry{Name: path.Join(prefix, f), Src: filepath.Join(root, filepath.FromSlash(f))}
	}
	return out, nil
}

// moduleEntries collects the dependency modules the host's packages build
// with, by loading them into an empty module cache served from the user's
// own module cache (falling back to the user's GOPROXY), and trims that
// cache's modules to the packages the host module's packages use on each
// platform bundled for and each of Options.TrimPlatforms (see package
// modtrim), recording in m which modules it trimmed.
func (g *generator) moduleEntries(ctx context.Context, modRoot, tmp string, platforms []platform, m *bundle.Manifest) (*modtrim.Result, error) {
	modcache := filepath.Join(tmp, "mod")
	proxy := "file://" + filepath.ToSlash(filepath.Join(g.env.GOMODCACHE, "cache", "download"))
	if g.env.GOPROXY != "" {
		proxy += "," + g.env.GOPROXY
	}
	env := []string{
		"GOMODCACHE=" + modcache,
		"GOPROXY=" + proxy,
		"GOFLAGS=" + strings.TrimSpace(g.env.GOFLAGS+" -modcacherw"),
		"GOWORK=off",
	}
	// Each platform's build may import packages the others do not
	// (golang.org/x/sys/windows): load the packages for every one.
	var listed []listedPackage
	var names []string
	tagSets := append([]string{""}, g.opts.Tags...)
	for _, p := range platforms {
		for _, tags := range tagSets {
			pkgs, err := g.list(ctx, modRoot, append(p.env(), env...), tagArgs(tags, "-deps", "./...")...)
			if err != nil {
				return nil, fmt.Errorf("collecting dependency modules for %s%s: %w", p, withTags(tags), err)
			}
			listed = append(listed, pkgs...)
		}
		names = append(names, p.String())
	}
	for _, name := range g.opts.TrimPlatforms {
		goos, goarch, ok := strings.Cut(name, "/")
		if !ok {
			return nil, fmt.Errorf("trim platform %q: want GOOS/GOARCH", name)
		}
		if slices.Contains(names, name) {
			continue
		}
		// -e: a package that does not build there is not the bundle's concern.
		for _, tags := range tagSets {
			pkgs, err := g.list(ctx, modRoot, append(platform{goos, goarch}.env(), append(env, "CGO_ENABLED=0")...), tagArgs(tags, "-e", "-deps", "./...")...)
			if err != nil {
				return nil, fmt.Errorf("listing the packages the build uses on %s%s: %w", name, withTags(tags), err)
			}
			listed = append(listed, pkgs...)
		}
		names = append(names, name)
	}
	// Loading packages reads only the go.mod files it needs (lazy module
	// loading), but once a rebuild edits go.mod the go command checks the
	// whole pruned module graph: load it too.
	if _, err := g.run.Run(ctx, gocmd.Invocation{Verb: "mod", Args: []string{"graph"}, Env: env, WorkingDir: modRoot}); err != nil {
		return nil, fmt.Errorf("collecting the module graph: %w", err)
	}
	entries, err := bundle.ModuleEntries(modcache)
	if err != nil {
		return nil, err
	}
	pkgs := make([]modtrim.Package, len(listed))
	for i, p := range listed {
		pkgs[i] = modtrim.Package{ImportPath: p.ImportPath, Dir: p.Dir, EmbedFiles: p.EmbedFiles, Cgo: len(p.CgoFiles)+len(p.SwigFiles) > 0}
	}
	trim, err := modtrim.Trim(modcache, entries, pkgs)
	if err != nil {
		return nil, err
	}
	m.Trimmed, m.TrimPlatforms = trim.Trimmed, names
	var std []string
	for _, p := range listed {
		if p.Module == nil {
			std = append(std, p.ImportPath)
		}
	}
	slices.Sort(std)
	m.StdPackages = slices.Compact(std)
	return trim, nil
}

// tagArgs are args with -tags=tags first, when tags is not empty: the
// listing without tags names none, so that GOFLAGS' stand.
func tagArgs(tags string, args ...string) []string {
	if tags == "" {
		return args
	}
	return append([]string{"-tags=" + tags}, args...)
}

// withTags says which tags a listing had, for messages.
func withTags(tags string) string {
	if tags == "" {
		return ""
	}
	return " with -tags " + tags
}

// toolchainFileSet names the file set toolchain.Files picks, in the
// cache key of built archives: change it when Files changes.
const toolchainFileSet = "f2"

// cachedArchive is a toolchain archive in the generator's cache.
type cachedArchive struct {
	path     string
	part     bundle.Part
	cached   bool   // reused from the cache
	replaced string // a cache entry that failed verification, rebuilt
	note     string // where it came from and what compressed it, for the report
}

// toolchainArchive returns the trimmed toolchain archive for p, building
// it into the cache on first use: from the local GOROOT for its own
// platform, with the go command and tools built from its source for any
// other (buildTools). A cached archive is reused only when its content
// still has the checksum recorded beside it: a corrupt entry would
// otherwise ship in every bundle made from it.
func (g *generator) toolchainArchive(ctx context.Context, p platform, pgo bool, tmp string) (*cachedArchive, error) {
	zstdCmd, zstdVersion, err := g.zstdCommand(ctx)
	if err != nil {
		return nil, err
	}
	compressor := "zstd package"
	key := fmt.Sprintf("%s-%s-%s-%s-l%d-w%d", g.env.GOVERSION, p.goos, p.goarch, toolchainFileSet, g.opts.Level, archive.LongWindow>>20)
	native := p.goos == g.env.GOHOSTOS && p.goarch == g.env.GOHOSTARCH
	origin := "from " + g.env.GOROOT
	if !native {
		key += "-" + toolsBuild
		origin = "built from the source of " + g.env.GOROOT
	}
	if zstdCmd != "" {
		compressor = zstdVersion
		sum := sha256.Sum256([]byte(zstdVersion))
		key += "-zstd" + hex.EncodeToString(sum[:4])
	}
	if pgo {
		key += "-pgo"
	}
	dir := filepath.Join(g.opts.CacheDir, "archives")
	tc := &cachedArchive{path: filepath.Join(dir, "toolchain-"+key+".tar.zst")}
	sumFile := tc.path + ".json"
	if data, err := os.ReadFile(sumFile); err == nil {
		var want bundle.Part
		if json.Unmarshal(data, &want) == nil {
			if got, err := archive.FilePart(tc.path); err == nil && got == want {
				tc.part, tc.cached, tc.note = want, true, "cached, "+compressor
				return tc, nil
			}
		}
		tc.replaced = tc.path
	}
	bins := g.env.GOROOT
	if !native {
		bins = filepath.Join(tmp, "tools-"+p.goos+"_"+p.goarch)
		if err := g.buildTools(ctx, p, pgo, bins); err != nil {
			return nil, err
		}
	}
	entries, err := toolchain.Files(g.env.GOROOT, bins, p.goos, p.goarch, pgo)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if zstdCmd != "" {
		tc.part, err = compressWithCommand(ctx, tc.path, entries, zstdCmd)
	} else {
		tc.part, err = writeArchiveFile(tc.path, entries, g.opts.Level)
	}
	if err != nil {
		return nil, err
	}
	data, _ := json.Marshal(tc.part)
	if err := bundle.WriteFileAtomic(sumFile, data, 0o644); err != nil {
		return nil, err
	}
	tc.note = origin + ", " + compressor
	return tc, nil
}

// toolsBuild names how buildTools builds another platform's executables,
// in the cache key of their archives: change it when buildTools changes.
const toolsBuild = "src1"

// buildTools builds the go command and the tools a toolchain for p
// carries (toolchain.Tools, and toolchain.PGOTools with pgo) from the
// source of the local GOROOT with its own go command, into dir laid out
// as a GOROOT: dir/bin/go and dir/pkg/tool/GOOS_GOARCH/. That is how the
// release's own make.bash and distpack make another platform's toolchain:
// the same source and version, compiled for the target, with the
// release's defaults (the generated internal/buildcfg constants are not
// per platform). The executables are static (CGO_ENABLED=0) and built
// -trimpath, without symbol tables: the go command finds its GOROOT from
// its own path. About a minute per platform on two cores, once per Go
// version: the archive is cached.
func (g *generator) buildTools(ctx context.Context, p platform, pgo bool, dir string) error {
	exe := ""
	if p.goos == "windows" {
		exe = ".exe"
	}
	var pkgs []string
	for _, t := range toolchain.Tools {
		pkgs = append(pkgs, "cmd/"+t)
	}
	if pgo {
		for _, t := range toolchain.PGOTools {
			pkgs = append(pkgs, "cmd/"+t)
		}
	}
	// Settings of the machine running the generator must not shape the
	// toolchain every user of the bundle runs.
	env := append(p.env(), "CGO_ENABLED=0", "GOFLAGS=", "GOEXPERIMENT=", "GOWORK=off", "GOTOOLCHAIN=local",
		"GOAMD64=", "GOARM=", "GOARM64=", "GO386=", "GOMIPS=", "GOMIPS64=", "GOPPC64=", "GORISCV64=", "GOWASM=")
	src := filepath.Join(g.env.GOROOT, "src")
	tools := filepath.Join(dir, "pkg", "tool", p.goos+"_"+p.goarch) + string(filepath.Separator)
	for _, build := range [][]string{
		append([]string{"-trimpath", "-ldflags=-s -w", "-o", tools}, pkgs...),
		{"-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "bin", "go"+exe), "cmd/go"},
	} {
		if _, err := g.run.Run(ctx, gocmd.Invocation{Verb: "build", Args: build, Env: env, WorkingDir: src}); err != nil {
			return fmt.Errorf("building the %s toolchain from the source in %s: %w", p, g.env.GOROOT, err)
		}
	}
	return nil
}

// zstdCommand returns the zstd command to compress the toolchain with and
// its version line, or "" to use the zstd package.
func (g *generator) zstdCommand(ctx context.Context) (string, string, error) {
	name := g.opts.Compressor
	if name == "go" || g.opts.Level != archive.LevelBest {
		return "", "", nil
	}
	auto := name == "" || name == "auto"
	if auto {
		name = "zstd"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if auto {
			return "", "", nil
		}
		return "", "", fmt.Errorf("compressor %q: %w", name, err)
	}
	out, err := exec.CommandContext(ctx, p, "-V").Output()
	version := ""
	for _, f := range strings.Fields(string(out)) { // "*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***"
		if strings.HasPrefix(f, "v1.") {
			version = "zstd " + strings.TrimSuffix(f, ",")
			break
		}
	}
	if err != nil || version == "" {
		if auto {
			return "", "", nil
		}
		return "", "", fmt.Errorf("compressor %q: not a zstd command (-V: %q, %v)", name, out, err)
	}
	return p, version, nil
}

// compressWithCommand writes entries as a tar into the zstd command at the
// best level with a LongWindow window, atomically into name, then decodes
// the result with the reader's decoder and compares it with the tar.
func compressWithCommand(ctx context.Context, name string, entries []bundle.Entry, zstdCmd string) (part bundle.Part, err error) {
	windowLog := bits.Len(uint(archive.LongWindow)) - 1
	tarSum := sha256.New()
	err = bundle.CreateAtomic(name, 0o644, func(w io.Writer) error {
		pr, pw := io.Pipe()
		tarDone := make(chan error, 1)
		go func() {
			err := archive.WriteTar(io.MultiWriter(tarSum, pw), entries)
			pw.CloseWithError(err)
			tarDone <- err
		}()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, zstdCmd, "-q", "-c", "-19", fmt.Sprintf("--long=%d", windowLog), "-T1", "--no-progress")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pr, w, &stderr
		proc.Setup(cmd, proc.Kill, 3*time.Second)
		err := proc.Run(cmd)
		pr.CloseWithError(io.ErrClosedPipe) // stop the tar writer if zstd stopped early
		if terr := <-tarDone; terr != nil && err == nil {
			err = terr
		}
		if err != nil {
			return fmt.Errorf("%s: %v: %s", zstdCmd, err, bytes.TrimSpace(stderr.Bytes()))
		}
		return nil
	})
	if err != nil {
		return part, err
	}
	if part, err = archive.FilePart(name); err != nil {
		return part, err
	}
	f, err := os.Open(name)
	if err != nil {
		return part, err
	}
	defer f.Close()
	got, err := archive.DecodedSHA256(f)
	if want := hex.EncodeToString(tarSum.Sum(nil)); err != nil || got != want {
		os.Remove(name)
		return part, fmt.Errorf("the toolchain archive %s wrote does not decode to the tar it was given (%v): use -compressor go", zstdCmd, err)
	}
	return part, nil
}

// writeArchiveFile writes entries as an archive at name, atomically, with
// a LongWindow window.
func writeArchiveFile(name string, entries []bundle.Entry, level archive.Level) (part bundle.Part, err error) {
	err = bundle.CreateAtomic(name, 0o644, func(w io.Writer) error {
		part, err = archive.WriteArchiveWindow(w, entries, level, archive.LongWindow)
		return err
	})
	return part, err
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

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
