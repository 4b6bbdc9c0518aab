package selfcompile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/module"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/modgen"
	"github.com/selfcompile/go-selfcompile/orchestrator"
	"github.com/selfcompile/go-selfcompile/swap"
	"github.com/selfcompile/go-selfcompile/toolchain"
	"github.com/selfcompile/go-selfcompile/verify"
)

// rebuild is the state one Run carries from stage to stage.
type rebuild struct {
	opts Options
	res  *Result
	orch *orchestrator.Runner

	specs    []modgen.Spec
	fsys     fs.FS
	manifest *bundle.Manifest
	target   string // the file to replace: the real executable, or Output
	swapping bool   // target is the running executable

	cache     string // toolchains, build cache, work directories
	work      string // work directory (0700)
	srcDir    string // unpacked host module
	modCache  string // GOMODCACHE of this rebuild, filled from the bundle
	hostGoMod []byte // the bundled go.mod, before plugins are added
	goroot    string
	gobin     string
	goRun     *gocmd.Runner

	buildFlags []string
	buildEnv   []string

	plugins     []bundle.Plugin // the new binary's plugin set
	hostVersion string          // the host module's version, from its build info
	added       []modgen.Resolved
	binary      string           // the built binary in the work directory
	newManifest *bundle.Manifest // the manifest the new binary carries
	graph       *modgen.Graph    // the module graph with the plugins
	finished    bool
}

func (r *rebuild) stages() []orchestrator.Stage {
	return []orchestrator.Stage{
		orchestrator.Func("prepare", r.prepare),
		orchestrator.Func("toolchain", r.toolchain),
		orchestrator.Func("source", r.source),
		orchestrator.Func("modgen", r.modgen),
		orchestrator.Func("verify", r.verify),
		orchestrator.Func("build", r.build),
		orchestrator.Func("smoke", r.smoke),
		orchestrator.Func("swap", r.swap),
	}
}

// prepare checks the request and the bundle, resolves the target once,
// takes the lock beside it and makes the work directory.
func (r *rebuild) prepare(ctx context.Context) error {
	if err := r.parseSpecs(); err != nil {
		return err
	}
	var err error
	if r.fsys, r.manifest, err = registeredBundle(); err != nil {
		return err
	}
	if err := r.resolveTarget(); err != nil {
		return err
	}
	if err := r.readBuildInfo(); err != nil {
		return err
	}
	if err := r.lockTarget(ctx); err != nil {
		return err
	}
	if r.cache, err = cacheDir(r.opts.CacheDir); err != nil {
		return err
	}
	if err := r.makeWorkDir(ctx); err != nil {
		return err
	}
	r.orch.Defer("workdir", r.removeWork)
	r.srcDir = filepath.Join(r.work, "src", "module")
	r.modCache = filepath.Join(r.work, "mod")
	r.binary = filepath.Join(r.work, "out", filepath.Base(r.target))
	return nil
}

// parseSpecs refuses a malformed spec before anything else happens.
func (r *rebuild) parseSpecs() error {
	for _, raw := range r.opts.Plugins {
		s, err := modgen.ParseSpec(raw)
		if err != nil {
			return err
		}
		r.specs = append(r.specs, s)
	}
	if len(r.specs) == 0 && len(r.opts.Remove) == 0 {
		return errors.New("nothing to do: give Options.Plugins to add or Options.Remove to drop")
	}
	return nil
}

// resolveTarget fixes, once, the file the run replaces: Output, or the real
// file behind the running executable (after a swap /proc/self/exe may name
// the backup).
func (r *rebuild) resolveTarget() error {
	var err error
	if r.opts.Output != "" {
		r.target, err = filepath.Abs(r.opts.Output)
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the running executable: %w; set Options.Output", err)
	}
	if r.target, err = swap.ResolveTarget(exe); err != nil {
		return err
	}
	r.swapping = true
	return nil
}

// lockTarget takes the lock beside the target, checks the target is still
// the binary this process runs, and recovers what an interrupted rebuild
// left: staged files, half-written backups, a target missing while its
// backup exists.
func (r *rebuild) lockTarget(ctx context.Context) error {
	unlock, err := swap.Lock(ctx, r.target, !r.opts.NoWait)
	if err != nil {
		return err
	}
	r.orch.Defer("unlock", unlock)
	if r.swapping {
		// A rebuild that waited for the lock may find the executable
		// replaced by the one it waited for; building from this process's
		// bundle would drop that one's plugins.
		if err := checkStillRunning(r.target); err != nil {
			return err
		}
	}
	_, err = swap.Recover(r.target)
	return err
}

// makeWorkDir makes the work directory, at a path that stays the same
// between rebuilds of one program: the go command's build cache keys
// depend on source paths (unless -trimpath), so a fresh path every time
// would recompile the host and every dependency. The path is keyed by the
// running executable, so rebuilds writing to different Outputs share it;
// a lock beside it makes it ours alone, and a rebuild that finds it busy
// works in a fresh directory instead (correct, only slower).
func (r *rebuild) makeWorkDir(ctx context.Context) error {
	parent := r.opts.WorkDir
	if parent == "" {
		parent = filepath.Join(r.cache, "work")
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	key := r.target
	if exe, err := os.Executable(); err == nil {
		key = exe
	}
	sum := sha256.Sum256([]byte(key))
	work := filepath.Join(parent, hex.EncodeToString(sum[:8]))
	unlock, err := swap.Lock(ctx, work, false)
	if errors.Is(err, swap.ErrBusy) {
		r.work, err = os.MkdirTemp(parent, "tmp-*")
		return err
	}
	if err != nil {
		return err
	}
	r.orch.Defer("unlock work directory", unlock)
	r.work = work
	// A directory left by an interrupted rebuild.
	if err := srctree.RemoveAll(r.work); err != nil {
		return fmt.Errorf("removing the leftover work directory: %w", err)
	}
	if err := os.Mkdir(r.work, 0o700); err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	return nil
}

// cacheDir is where toolchains, the build cache and work directories live.
func cacheDir(opt string) (string, error) {
	if opt != "" {
		return filepath.Abs(opt)
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (%v): set Options.CacheDir", err)
	}
	return filepath.Join(dir, "go-selfcompile"), nil
}

func (r *rebuild) removeWork() error {
	if !r.finished && r.opts.KeepWorkDir {
		return fmt.Errorf("work directory kept for inspection: %s", r.work)
	}
	return srctree.RemoveAll(r.work)
}

// readBuildInfo turns the running binary's build settings into the flags
// and environment of the rebuild.
func (r *rebuild) readBuildInfo() error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("the running binary has no build information: build it with module support")
	}
	r.hostVersion = bi.Main.Version
	r.buildFlags, r.buildEnv = buildSettings(bi.Settings)
	goos, _ := gocmd.Lookup(r.buildEnv, "GOOS")
	goarch, _ := gocmd.Lookup(r.buildEnv, "GOARCH")
	if (goos != "" && goos != r.manifest.GOOS) || (goarch != "" && goarch != r.manifest.GOARCH) {
		return fmt.Errorf("the binary is built for %s/%s but its bundle holds a toolchain for %s/%s: regenerate the bundle", goos, goarch, r.manifest.GOOS, r.manifest.GOARCH)
	}
	r.checkCgo()
	return nil
}

// buildSettings turns recorded build settings into go build flags and
// environment. VCS stamps are not build inputs, and the unpacked source
// has no VCS: -buildvcs=false.
func buildSettings(settings []debug.BuildSetting) (flags, env []string) {
	flags = []string{"-buildvcs=false"}
	for _, s := range settings {
		switch s.Key {
		case "-buildmode", "-compiler", "-gcflags", "-ldflags", "-asmflags", "-tags":
			flags = append(flags, s.Key+"="+s.Value)
		case "-trimpath", "-race", "-msan", "-asan":
			if s.Value == "true" {
				flags = append(flags, s.Key)
			}
		case "CGO_ENABLED", "GOOS", "GOARCH", "GOEXPERIMENT", "GOFIPS140",
			"GOAMD64", "GOARM", "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM",
			"CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS":
			env = append(env, s.Key+"="+s.Value)
		}
	}
	return flags, env
}

// checkCgo follows the go command's own default when the original build
// had cgo on but this machine has no C compiler: build with cgo off.
// Standard packages such as os/user (imported by archive/tar) and net link
// runtime/cgo whenever cgo is on, yet have pure-Go versions, so a host
// built on a developer's machine still rebuilds on one without gcc. A
// package that really needs cgo then fails in verify or build, saying so.
func (r *rebuild) checkCgo() {
	if v, _ := gocmd.Lookup(r.buildEnv, "CGO_ENABLED"); v != "1" {
		return
	}
	cc, found := verify.CCompiler(append(os.Environ(), r.buildEnv...))
	if found {
		return
	}
	r.buildEnv = append(r.buildEnv, "CGO_ENABLED=0")
	r.warn("the original build had CGO_ENABLED=1 but no C compiler (%s) is on PATH: building with CGO_ENABLED=0, as the go command does by default; install a C compiler to keep cgo", cc)
}

func (r *rebuild) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.res.Warnings = append(r.res.Warnings, msg)
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "selfcompile: warning: %s\n", msg)
	}
}

// toolchain installs the bundled GOROOT into the cache and sets up the go
// command runner.
func (r *rebuild) toolchain(ctx context.Context) error {
	cache := r.cache
	part := r.manifest.Parts[bundle.ToolchainFile]
	goroot, err := toolchain.Install(func() (io.ReadCloser, error) { return r.fsys.Open(bundle.ToolchainFile) }, part, cache)
	if err != nil {
		return err
	}
	r.goroot = goroot
	r.gobin = toolchain.GoBin(goroot)
	r.res.GoVersion = r.manifest.GoVersion
	r.goRun = &gocmd.Runner{GoBin: r.gobin}
	r.goRun.Env = append([]string{
		"GOROOT=" + goroot,
		"GOCACHE=" + filepath.Join(cache, "gocache"),
		"GOMODCACHE=" + r.modCache,
		"GOFLAGS=-mod=mod -modcacherw",
	}, r.buildEnv...)
	r.goRun.Env = append(r.goRun.Env, r.opts.Env...)
	return nil
}

// source unpacks the host's source, and the bundled modules as the
// rebuild's module cache: what the host builds with needs no network.
func (r *rebuild) source(ctx context.Context) error {
	for _, u := range []struct{ part, dir string }{
		{bundle.SourceFile, filepath.Join(r.work, "src")},
		{bundle.ModulesFile, r.modCache},
	} {
		if err := extractPart(r.fsys, r.manifest, u.part, u.dir); err != nil {
			return err
		}
	}
	// The new bundle carries the host's own go.mod: plugins are applied
	// anew from the manifest at every rebuild, so removing one leaves no
	// trace of it.
	var err error
	r.hostGoMod, err = os.ReadFile(filepath.Join(r.srcDir, "go.mod"))
	return err
}

func extractPart(fsys fs.FS, m *bundle.Manifest, part, dir string) error {
	f, err := fsys.Open(part)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := bundle.Extract(f, dir, m.Parts[part]); err != nil {
		return fmt.Errorf("unpacking %s: %w", part, err)
	}
	return nil
}

// modgen resolves the specs, computes the new plugin set, writes go.mod
// and the plugin imports, and reports how the plugins move the host's
// dependencies; a drift the policy refuses stops the rebuild here, before
// anything is built.
func (r *rebuild) modgen(ctx context.Context) error {
	if err := r.resolve(ctx); err != nil {
		return err
	}
	installed := make([]modgen.Plugin, len(r.manifest.Plugins))
	for i, p := range r.manifest.Plugins {
		installed[i] = modgen.Plugin(p)
	}
	set, err := modgen.NewSet(installed, r.added, r.opts.Remove)
	if err != nil {
		return err
	}
	before, err := modgen.ReadGraph(ctx, r.goRun, r.srcDir)
	if err != nil {
		return err
	}
	edit, err := r.localCopies(ctx, set)
	if err != nil {
		return err
	}
	if err := modgen.ApplyEdit(r.srcDir, modgen.Edit{Plugins: edit}); err != nil {
		return err
	}
	if err := r.loadAdded(ctx); err != nil {
		return err
	}
	if err := r.drift(ctx, before.BuildList(), set); err != nil {
		return err
	}
	r.plugins = make([]bundle.Plugin, len(set))
	paths := make([]string, len(set))
	for i, p := range set {
		r.plugins[i] = bundle.Plugin(p)
		paths[i] = p.Path
	}
	mainDir := r.mainDir()
	return os.WriteFile(filepath.Join(mainDir, bundle.PluginsFile), bundle.PluginsSource(paths), 0o644)
}

// localDir is where, inside the module cache that the modules part of a
// bundle carries, copies of local-directory plugins live: a rebuilt binary
// can rebuild again after the directory is gone. The name has no dot, so
// it cannot be the first element of a module path.
const localDir = "selfcompile-local"

// localCopies returns set with each local-directory plugin pointing at its
// copy in the module cache: a fresh copy for a plugin installed from its
// directory now, the bundled copy for one installed before.
func (r *rebuild) localCopies(ctx context.Context, set []modgen.Plugin) ([]modgen.Plugin, error) {
	fresh := map[string]string{} // module -> directory given now
	for _, a := range r.added {
		if a.Dir != "" {
			fresh[a.Module] = a.Dir
		}
	}
	out := append([]modgen.Plugin(nil), set...)
	for i, p := range out {
		if p.Dir == "" {
			continue
		}
		esc, err := module.EscapePath(p.Module)
		if err != nil {
			return nil, err
		}
		cp := filepath.Join(r.modCache, localDir, filepath.FromSlash(esc))
		if src, ok := fresh[p.Module]; ok {
			if err := srctree.RemoveAll(cp); err != nil {
				return nil, err
			}
			if err := srctree.Copy(ctx, r.goRun, src, cp); err != nil {
				return nil, fmt.Errorf("copying local plugin %s from %s: %w", p.Path, src, err)
			}
		} else if _, err := os.Stat(filepath.Join(cp, "go.mod")); err != nil {
			return nil, fmt.Errorf("the bundle has no copy of local plugin %s (installed from %s): install it again from its directory", p.Path, p.Dir)
		}
		out[i].Dir = cp
	}
	return out, nil
}

// resolve resolves every spec; their warnings (a retracted version, a
// local module's ignored replaces) go into the Result.
func (r *rebuild) resolve(ctx context.Context) error {
	res := &modgen.Resolver{
		Go:              r.goRun,
		ModDir:          r.srcDir,
		HostModule:      r.manifest.Module,
		BaseDir:         r.opts.Dir,
		RefuseRetracted: r.opts.RefuseRetracted,
	}
	for _, s := range r.specs {
		rv, err := res.Resolve(ctx, s)
		if err != nil {
			return err
		}
		r.added = append(r.added, rv)
		for _, w := range rv.Warnings {
			r.warn("%s", w)
		}
	}
	return nil
}

// loadAdded loads the new module graph once through the runner, so that a
// module that cannot be fetched is reported with the go command's own
// words (go/packages would hide them), and go.sum gets the new modules'
// sums. Problems of a plugin package itself (no files for the target, a
// missing import) are left to verify, which explains them (-e).
func (r *rebuild) loadAdded(ctx context.Context) error {
	if len(r.added) == 0 {
		return nil
	}
	args := append([]string{"-deps", "-e"}, r.buildFlags...)
	for _, a := range r.added {
		args = append(args, a.Path)
	}
	_, err := r.goRun.Run(ctx, gocmd.Invocation{Verb: "list", Args: args, WorkingDir: r.srcDir})
	return err
}

// drift compares the host's build list before and after the plugins,
// reports every change, and applies the drift policy.
func (r *rebuild) drift(ctx context.Context, before modgen.BuildList, set []modgen.Plugin) error {
	graph, err := modgen.ReadGraph(ctx, r.goRun, r.srcDir)
	if err != nil {
		return err
	}
	r.graph = graph
	mods := make([]string, len(set))
	for i, p := range set {
		mods[i] = p.Module
	}
	r.res.Drift = modgen.Compare(modgen.DriftInput{Before: before, After: graph.BuildList(), Graph: graph, Plugins: mods, HostVersion: r.hostVersion})
	for _, d := range r.res.Drift {
		if r.opts.Progress != nil {
			fmt.Fprintf(r.opts.Progress, "selfcompile: drift: %v\n", d)
		}
	}
	return r.opts.DriftPolicy.Check(r.res.Drift)
}

// verify type-checks every added plugin with the build's settings.
func (r *rebuild) verify(ctx context.Context) error {
	var paths []string
	for _, a := range r.added {
		paths = append(paths, a.Path)
	}
	reports, err := verify.Plugins(ctx, verify.Config{
		Dir:           r.srcDir,
		Env:           r.goRun.Environ(),
		GoBinDir:      filepath.Dir(r.gobin),
		BuildFlags:    r.buildFlags,
		RegisterFuncs: r.opts.RegisterFuncs,
	}, paths)
	if err != nil {
		return err
	}
	r.res.Checks = reports
	return nil
}

// build writes the bundle the new binary carries and runs go build.
func (r *rebuild) build(ctx context.Context) error {
	mainPkg := "."
	if d := path.Clean(r.manifest.MainDir); d != "." {
		mainPkg = "./" + d
	}
	// Load every package once so that the module cache holds all that the
	// build needs before the modules archive is written.
	if _, err := r.goRun.Run(ctx, gocmd.Invocation{Verb: "list", Args: append(append([]string{"-deps"}, r.buildFlags...), mainPkg), WorkingDir: r.srcDir}); err != nil {
		return err
	}
	if err := r.writeBundle(); err != nil {
		return fmt.Errorf("writing the new bundle: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(r.binary), 0o700); err != nil {
		return err
	}
	args := append(append([]string{}, r.buildFlags...), "-o", r.binary, mainPkg)
	_, err := r.goRun.Run(ctx, gocmd.Invocation{Verb: "build", Args: args, WorkingDir: r.srcDir})
	return err
}

// writeBundle writes the new binary's bundle into the unpacked main
// package: the same toolchain and source, the modules this build used and
// a manifest with the new plugin set.
func (r *rebuild) writeBundle() error {
	mainDir := r.mainDir()
	m := *r.manifest
	m.Plugins = r.plugins
	m.Parts = map[string]bundle.Part{}
	if err := copyFromFS(r.fsys, bundle.ToolchainFile, filepath.Join(mainDir, bundle.ToolchainFile)); err != nil {
		return err
	}
	m.Parts[bundle.ToolchainFile] = r.manifest.Parts[bundle.ToolchainFile]
	src, err := r.sourceEntries()
	if err != nil {
		return err
	}
	mods, err := bundle.ModuleEntries(r.modCache)
	if err != nil {
		return err
	}
	mods, err = pruneModules(mods, r.graph, r.plugins)
	if err != nil {
		return err
	}
	for _, a := range []struct {
		name    string
		entries []bundle.Entry
	}{{bundle.SourceFile, src}, {bundle.ModulesFile, mods}} {
		err := bundle.CreateAtomic(filepath.Join(mainDir, a.name), 0o644, func(w io.Writer) error {
			p, err := bundle.WriteArchive(w, a.entries, bundle.LevelDefault)
			m.Parts[a.name] = p
			return err
		})
		if err != nil {
			return err
		}
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(mainDir, bundle.ManifestFile), data, 0o644); err != nil {
		return err
	}
	r.newManifest = &m
	return bundle.WriteStub(mainDir)
}

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
			local[localDir+"/"+esc+"/"] = true
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
	if strings.HasPrefix(name, localDir+"/") {
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

// sourceEntries is the unpacked source as the new bundle carries it: the
// host's own go.mod, the go.sum that now also holds the plugins' sums (so
// the next rebuild verifies them offline), and no generated files.
func (r *rebuild) sourceEntries() ([]bundle.Entry, error) {
	root := filepath.Join(r.work, "src")
	gomod := filepath.Join(r.work, "host.go.mod")
	if err := os.WriteFile(gomod, r.hostGoMod, 0o600); err != nil {
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
		if e.Name == "module/go.mod" {
			e.Src = gomod
		}
		entries = append(entries, e)
		return nil
	})
	return entries, err
}

func copyFromFS(fsys fs.FS, name, dst string) error {
	in, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// smoke runs the new binary under the smoke protocol.
func (r *rebuild) smoke(ctx context.Context) error {
	var want []verify.SmokePlugin
	for _, p := range r.plugins {
		want = append(want, verify.SmokePlugin{Path: p.Path, Version: p.Version})
	}
	cfg := verify.SmokeConfig{Env: smokeEnv(), Timeout: r.opts.SmokeTimeout, Want: want, Args: r.opts.SmokeArgs}
	// When the host reports registrations, every plugin new to the binary
	// must add one; a re-pinned plugin was registered before.
	if before, ok := registrationsNow(); ok {
		cfg.Before = before
		installed := map[string]bool{}
		for _, p := range r.manifest.Plugins {
			installed[p.Path] = true
		}
		for _, a := range r.added {
			if !installed[a.Path] {
				cfg.Added = append(cfg.Added, a.Path)
			}
		}
	}
	rep, err := verify.Smoke(ctx, r.binary, cfg)
	if err != nil {
		return err
	}
	r.res.Smoke = rep
	return nil
}

// smokeEnv is the clean environment the new binary starts in.
func smokeEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// swap stages the new binary beside the target and renames it into place.
func (r *rebuild) swap(ctx context.Context) error {
	keep := r.opts.Backups
	if !r.swapping {
		keep = -1 // Output: a file of the caller's, not an executable to roll back
	}
	backup, err := swap.Install(r.target, r.binary, swap.Options{Backups: keep, Mode: 0o755})
	if err != nil {
		return err
	}
	if r.swapping {
		installedExe(r.target)
		if err := installedBundle(r.mainDir(), r.newManifest); err != nil {
			r.warn("a second rebuild from this process will start from its original bundle: %v", err)
		}
	}
	r.finished = true
	r.res.Binary = r.target
	r.res.Backup = backup
	for _, p := range r.plugins {
		r.res.Plugins = append(r.res.Plugins, Plugin(p))
	}
	for _, a := range r.added {
		r.res.Added = append(r.res.Added, Plugin{Path: a.Path, Module: a.Module, Version: a.Version, Query: a.Spec.Query})
	}
	return nil
}

// mainDir is the host's main package directory in the unpacked source.
func (r *rebuild) mainDir() string {
	return filepath.Join(r.srcDir, filepath.FromSlash(r.manifest.MainDir))
}
