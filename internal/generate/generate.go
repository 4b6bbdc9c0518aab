// Package generate implements "go-selfcompile bundle": it collects what a
// host needs to rebuild itself (a trimmed toolchain, the host module's
// source, local replace directories and the dependency modules) and writes
// the bundle files into the host's main package directory.
package generate

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
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
	// CacheDir keeps built toolchain archives between runs. Empty means
	// the user cache directory.
	CacheDir string
	// Stdout receives the report of what was written. Nil discards it.
	Stdout io.Writer
}

// Report describes a generated bundle.
type Report struct {
	Manifest *bundle.Manifest
	Dir      string
	Files    map[string]int // part file name -> number of files archived
	Cached   bool           // toolchain archive came from the cache
	// Compressor is what compressed the toolchain archive: "zstd package"
	// or the zstd command's version line.
	Compressor string
	// Prewarm adds the optional part that holds the compiled standard
	// packages the host uses (bundle.StdCacheFile), so that a first
	// rebuild does not compile them: the example's bundle grows by about
	// 7 MB and its first rebuild saves about 5 s. The entries hit when
	// the host is built with default settings for the standard library
	// (no -trimpath, -race or -gcflags); otherwise they are only unused.
	Prewarm bool
	// Replaced names a cached toolchain archive that did not match its
	// recorded checksum and was rebuilt.
	Replaced string
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
	g := &generator{dir: dir, opts: opts, run: &gocmd.Runner{InheritEnv: true}}
	return g.generate(ctx, out)
}

type generator struct {
	dir  string
	opts Options
	run  *gocmd.Runner
	env  goEnv
}

type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	EmbedFiles []string
	Module     *struct{ Path, Dir, GoMod string }
}

func (g *generator) generate(ctx context.Context, out io.Writer) (*Report, error) {
	m, modRoot, err := g.loadHost(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "go-selfcompile-bundle-*")
	if err != nil {
		return nil, err
	}
	defer removeAll(tmp)

	rep := &Report{Dir: g.dir, Files: map[string]int{}}
	srcEntries, err := g.sourceEntries(ctx, modRoot, tmp)
	if err != nil {
		return nil, err
	}
	modEntries, err := g.moduleEntries(ctx, modRoot, tmp)
	if err != nil {
		return nil, err
	}
	helperPath, helperPart, err := g.buildHelper(ctx, tmp)
	if err != nil {
		return nil, err
	}
	tc, err := g.toolchainArchive(ctx, fileExists(filepath.Join(g.dir, "default.pgo")), rep)
	if err != nil {
		return nil, err
	}
	tcPath, tcPart := tc.path, tc.part
	rep.Cached, rep.Replaced = tc.cached, tc.replaced
	rep.Files[bundle.SourceFile] = len(srcEntries)
	rep.Files[bundle.ModulesFile] = len(modEntries)
	parts := map[string]archive.Source{
		bundle.ToolchainFile: archive.Copy(func() (io.ReadCloser, error) { return os.Open(tcPath) }, tcPart),
		bundle.HelperFile:    archive.Copy(func() (io.ReadCloser, error) { return os.Open(helperPath) }, helperPart),
		bundle.SourceFile:    archive.Archive(srcEntries, archive.LevelDefault),
		bundle.ModulesFile:   archive.Framed(modEntries, archive.LevelDefault, nil),
	}
	if g.opts.Prewarm {
		stdEntries, err := g.stdCacheEntries(ctx, tmp, m.MainPackage)
		if err != nil {
			return nil, err
		}
		rep.Files[bundle.StdCacheFile] = len(stdEntries)
		parts[bundle.StdCacheFile] = archive.Archive(stdEntries, archive.LevelBest)
	}
	rep.Manifest, err = archive.Write(g.dir, *m, parts)
	if err != nil {
		return nil, err
	}
	printReport(out, rep)
	return rep, nil
}

// stdCacheEntries compiles the standard packages the main package uses
// into an empty build cache, with the go command that the bundle carries
// (the toolchain is this one), and lists that cache's entries.
func (g *generator) stdCacheEntries(ctx context.Context, tmp, mainPkg string) ([]bundle.Entry, error) {
	out, err := g.run.Run(ctx, gocmd.Invocation{Verb: "list", Args: []string{"-deps", "-f", "{{if .Standard}}{{.ImportPath}}{{end}}", mainPkg}, WorkingDir: g.dir})
	if err != nil {
		return nil, fmt.Errorf("listing the standard packages to pre-warm: %w", err)
	}
	cache := filepath.Join(tmp, "gocache")
	args := append([]string{}, strings.Fields(string(out))...)
	if _, err := g.run.Run(ctx, gocmd.Invocation{Verb: "build", Args: args, Env: []string{"GOCACHE=" + cache}, WorkingDir: g.dir}); err != nil {
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
// cannot be bundled, and returns the manifest to fill and the module root.
func (g *generator) loadHost(ctx context.Context) (*bundle.Manifest, string, error) {
	envJSON, err := g.run.Run(ctx, gocmd.Invocation{Verb: "env", Args: []string{"-json", "GOROOT", "GOOS", "GOARCH", "GOHOSTOS", "GOHOSTARCH", "GOVERSION", "GOMOD", "GOMODCACHE", "GOPROXY", "GOFLAGS"}, WorkingDir: g.dir})
	if err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal(envJSON, &g.env); err != nil {
		return nil, "", fmt.Errorf("parsing go env: %w", err)
	}
	if g.env.GOOS != g.env.GOHOSTOS || g.env.GOARCH != g.env.GOHOSTARCH {
		return nil, "", fmt.Errorf("bundling for %s/%s on %s/%s is not supported: the bundle carries this machine's toolchain; run go generate on a %s/%s machine, or with GOOS and GOARCH unset", g.env.GOOS, g.env.GOARCH, g.env.GOHOSTOS, g.env.GOHOSTARCH, g.env.GOOS, g.env.GOARCH)
	}
	if g.env.GOMOD == "" || g.env.GOMOD == os.DevNull {
		return nil, "", fmt.Errorf("%s is not inside a Go module: go-selfcompile bundle needs the host's go.mod", g.dir)
	}
	main, err := g.listOne(ctx, g.dir, ".")
	if err != nil {
		return nil, "", err
	}
	if main.Name != "main" {
		return nil, "", fmt.Errorf("package %s in %s is package %s, not main: run go-selfcompile bundle in the host's main package directory", main.ImportPath, g.dir, main.Name)
	}
	modRoot := filepath.Dir(g.env.GOMOD)
	mainDir, err := filepath.Rel(modRoot, g.dir)
	if err != nil {
		return nil, "", err
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
	return m, modRoot, nil
}

// buildHelper builds the helper (the go-selfcompile command) for the
// host's platform, in the host's module so that it is the version of
// go-selfcompile the host links, and compresses it for the helper part:
// one gzip stream, which the host unpacks with the standard library alone.
// CGO_ENABLED=0: it must run wherever the host runs.
func (g *generator) buildHelper(ctx context.Context, tmp string) (string, bundle.Part, error) {
	exe := filepath.Join(tmp, "helper", bundle.HelperName)
	if g.env.GOOS == "windows" {
		exe += ".exe"
	}
	_, err := g.run.Run(ctx, gocmd.Invocation{
		Verb:       "build",
		Args:       []string{"-trimpath", "-ldflags=-s -w", "-o", exe, bundle.HelperPackage},
		Env:        []string{"CGO_ENABLED=0"},
		WorkingDir: g.dir,
	})
	if err != nil {
		return "", bundle.Part{}, fmt.Errorf("building the rebuild helper %s for %s/%s: %w", bundle.HelperPackage, g.env.GOOS, g.env.GOARCH, err)
	}
	gz := filepath.Join(tmp, "helper.gz")
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
	m := rep.Manifest
	if rep.Replaced != "" {
		fmt.Fprintf(out, "go-selfcompile: the cached toolchain archive %s did not match its checksum: rebuilt it\n", rep.Replaced)
	}
	fmt.Fprintf(out, "go-selfcompile: bundled %s (%s, %s/%s) in %s\n", m.MainPackage, m.GoVersion, m.GOOS, m.GOARCH, rep.Dir)
	var total int64
	for _, name := range m.PartNames() {
		p := m.Parts[name]
		total += p.Size
		note := ""
		if n, ok := rep.Files[name]; ok {
			note = fmt.Sprintf(" (%d files)", n)
		} else if name == bundle.ToolchainFile {
			note = " (" + rep.Compressor + ")"
			if rep.Cached {
				note = " (cached, " + rep.Compressor + ")"
			}
		}
		fmt.Fprintf(out, "  %-40s %9s%s\n", name, HumanSize(p.Size), note)
	}
	fmt.Fprintf(out, "  %-40s %9s\n", "total", HumanSize(total))
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
		Args:       append([]string{"-e=false", "-json=ImportPath,Name,Dir,EmbedFiles,Module"}, args...),
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
// own module cache (falling back to the user's GOPROXY), and archives that
// cache's download directory.
func (g *generator) moduleEntries(ctx context.Context, modRoot, tmp string) ([]bundle.Entry, error) {
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
	if _, err := g.list(ctx, modRoot, env, "-deps", "./..."); err != nil {
		return nil, fmt.Errorf("collecting dependency modules: %w", err)
	}
	// Loading packages reads only the go.mod files it needs (lazy module
	// loading), but once a rebuild edits go.mod the go command checks the
	// whole pruned module graph: load it too.
	if _, err := g.run.Run(ctx, gocmd.Invocation{Verb: "mod", Args: []string{"graph"}, Env: env, WorkingDir: modRoot}); err != nil {
		return nil, fmt.Errorf("collecting the module graph: %w", err)
	}
	return bundle.ModuleEntries(modcache)
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
}

// toolchainArchive returns the trimmed toolchain archive for the running
// go, building it into the cache on first use. A cached archive is reused
// only when its content still has the checksum recorded beside it: a
// corrupt entry would otherwise ship in every bundle made from it.
func (g *generator) toolchainArchive(ctx context.Context, pgo bool, rep *Report) (*cachedArchive, error) {
	zstdCmd, zstdVersion, err := g.zstdCommand(ctx)
	if err != nil {
		return nil, err
	}
	rep.Compressor = "zstd package"
	key := fmt.Sprintf("%s-%s-%s-%s-l%d-w%d", g.env.GOVERSION, g.env.GOOS, g.env.GOARCH, toolchainFileSet, g.opts.Level, archive.LongWindow>>20)
	if zstdCmd != "" {
		rep.Compressor = zstdVersion
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
				tc.part, tc.cached = want, true
				return tc, nil
			}
		}
		tc.replaced = tc.path
	}
	entries, err := toolchain.Files(g.env.GOROOT, g.env.GOOS, g.env.GOARCH, pgo)
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
	return tc, nil
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
		err := cmd.Run()
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
