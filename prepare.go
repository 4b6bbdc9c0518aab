package selfcompile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/modgen"
	"github.com/selfcompile/go-selfcompile/swap"
	"github.com/selfcompile/go-selfcompile/verify"
)

// job is what the prepare stage decides, once, for the rest of a run.
type job struct {
	specs    []modgen.Spec
	fsys     fs.FS            // the bundle the rebuild starts from
	manifest *bundle.Manifest // its manifest
	target   string           // the file to replace: the real executable, or Output
	swapping bool             // target is the running executable
	cache    string           // toolchains and the build cache
	work     string           // this run's work directory (0700)
	flags    []string         // the original build's flags
	env      []string         // the original build's environment (GOOS, CGO_ENABLED, ...)
	host     string           // the host module's version, from its build info
	// noop is set when the request asks for nothing that is not already so.
	noop string
}

// cleanups is where prepare registers what the cleanup stage undoes.
type cleanups interface {
	Defer(name string, fn func() error)
}

// prepare refuses what the request alone shows to be wrong, reads the
// bundle and the build settings, resolves the target once, takes the lock
// beside it and makes the work directory. Nothing is unpacked yet.
func prepare(ctx context.Context, o Options, c cleanups, warn func(string, ...any)) (*job, error) {
	j := &job{}
	var err error
	if j.specs, err = parseSpecs(o.Plugins, o.Remove); err != nil {
		return nil, err
	}
	if j.fsys, j.manifest, err = registeredBundle(); err != nil {
		return nil, err
	}
	if j.noop, err = alreadySo(j.specs, o.Remove, Installed()); err != nil || j.noop != "" {
		return j, err
	}
	if err := j.resolveTarget(o.Output); err != nil {
		return nil, err
	}
	if err := j.readBuildInfo(warn); err != nil {
		return nil, err
	}
	if err := j.lockTarget(ctx, o.NoWait, c); err != nil {
		return nil, err
	}
	if j.cache, err = cacheDir(o.CacheDir); err != nil {
		return nil, err
	}
	return j, j.makeWorkDir(ctx, o, c)
}

// parseSpecs refuses a malformed spec before anything else happens.
func parseSpecs(plugins, remove []string) ([]modgen.Spec, error) {
	var specs []modgen.Spec
	for _, raw := range plugins {
		s, err := modgen.ParseSpec(raw)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	if len(specs) == 0 && len(remove) == 0 {
		return nil, errors.New("nothing to do: give Options.Plugins to add or Options.Remove to drop")
	}
	return specs, nil
}

// alreadySo decides what the installed set alone decides: removing a
// plugin that is not installed is refused, and asking only for plugins
// already installed at the versions asked, or with no version at all, is
// nothing to do (it returns why). Both are known before anything is unpacked.
func alreadySo(specs []modgen.Spec, remove []string, installed []Plugin) (string, error) {
	if _, err := modgen.NewSet(installed, nil, remove); err != nil {
		return "", err
	}
	if len(remove) > 0 {
		return "", nil
	}
	var have []string
	for _, s := range specs {
		i := indexPlugin(installed, s.Path)
		if i < 0 || installed[i].Dir != "" {
			return "", nil
		}
		// A bare spec keeps a module of the build list where it is, and
		// an installed plugin's module is in it.
		if !s.Bare && (s.Kind != modgen.Exact || installed[i].Version != s.Query) {
			return "", nil
		}
		have = append(have, s.Path+"@"+installed[i].Version)
	}
	return "nothing to do: " + strings.Join(have, ", ") + " already installed", nil
}

func indexPlugin(ps []Plugin, path string) int {
	for i, p := range ps {
		if p.Path == path {
			return i
		}
	}
	return -1
}

// resolveTarget fixes, once, the file the run replaces: Output, or the real
// file behind the running executable (after a swap /proc/self/exe may name
// the backup).
func (j *job) resolveTarget(output string) error {
	var err error
	if output != "" {
		j.target, err = filepath.Abs(output)
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the running executable: %w; set Options.Output", err)
	}
	if j.target, err = swap.ResolveTarget(exe); err != nil {
		return err
	}
	j.swapping = true
	return nil
}

// readBuildInfo takes the rebuild's flags and environment from the
// running binary's build settings.
func (j *job) readBuildInfo(warn func(string, ...any)) error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("the running binary has no build information: build it with module support")
	}
	j.host = bi.Main.Version
	j.flags, j.env = buildSettings(bi.Settings)
	goos, _ := gocmd.Lookup(j.env, "GOOS")
	goarch, _ := gocmd.Lookup(j.env, "GOARCH")
	m := j.manifest
	if (goos != "" && goos != m.GOOS) || (goarch != "" && goarch != m.GOARCH) {
		return fmt.Errorf("the binary is built for %s/%s but its bundle holds a toolchain for %s/%s: regenerate the bundle", goos, goarch, m.GOOS, m.GOARCH)
	}
	j.env = cgoFallback(j.env, warn)
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

// cgoFallback follows the go command's own default when the original build
// had cgo on but this machine has no C compiler: build with cgo off.
// Standard packages such as os/user (imported by archive/tar) and net link
// runtime/cgo whenever cgo is on, yet have pure-Go versions, so a host
// built on a developer's machine still rebuilds on one without gcc. A
// package that really needs cgo then fails in verify or build, saying so.
func cgoFallback(env []string, warn func(string, ...any)) []string {
	if v, _ := gocmd.Lookup(env, "CGO_ENABLED"); v != "1" {
		return env
	}
	cc, found := verify.CCompiler(append(os.Environ(), env...))
	if found {
		return env
	}
	warn("the original build had CGO_ENABLED=1 but no C compiler (%s) is on PATH: building with CGO_ENABLED=0, as the go command does by default; install a C compiler to keep cgo", cc)
	return append(env, "CGO_ENABLED=0")
}

// lockTarget takes the lock beside the target, checks the target is still
// the binary this process runs, and recovers what an interrupted rebuild
// left: staged files, half-written backups, a target missing while its
// backup exists.
func (j *job) lockTarget(ctx context.Context, noWait bool, c cleanups) error {
	unlock, err := swap.Lock(ctx, j.target, !noWait)
	if err != nil {
		return err
	}
	c.Defer("unlock", unlock)
	if j.swapping {
		// A rebuild that waited for the lock may find the executable
		// replaced by the one it waited for; building from this process's
		// bundle would drop that one's plugins.
		if err := checkStillRunning(j.target); err != nil {
			return err
		}
	}
	_, err = swap.Recover(j.target)
	return err
}

// makeWorkDir makes the work directory, at a path that stays the same
// between rebuilds of one program: the go command's build cache keys
// depend on source paths (unless -trimpath), so a fresh path every time
// would recompile the host and every dependency. The path is keyed by the
// running executable, so rebuilds writing to different Outputs share it;
// a lock beside it makes it ours alone, and a rebuild that finds it busy
// works in a fresh directory instead (correct, only slower). The cleanup
// stage removes it, unless the run failed and Options.KeepWorkDir is set.
func (j *job) makeWorkDir(ctx context.Context, o Options, c cleanups) error {
	parent := o.WorkDir
	if parent == "" {
		parent = filepath.Join(j.cache, "work")
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	key := j.target
	if exe, err := os.Executable(); err == nil {
		key = exe
	}
	sum := sha256.Sum256([]byte(key))
	work := filepath.Join(parent, hex.EncodeToString(sum[:8]))
	unlock, err := swap.Lock(ctx, work, false)
	switch {
	case errors.Is(err, swap.ErrBusy):
		if work, err = os.MkdirTemp(parent, "tmp-*"); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		c.Defer("unlock work directory", unlock)
		// A directory left by an interrupted rebuild.
		if err := srctree.RemoveAll(work); err != nil {
			return fmt.Errorf("removing the leftover work directory: %w", err)
		}
		if err := os.Mkdir(work, 0o700); err != nil {
			return fmt.Errorf("creating the work directory: %w", err)
		}
	}
	j.work = work
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

// goRunner is the bundled go command with the rebuild's environment: the
// original build's settings, the caller's Options.Env, then what the
// rebuild itself decides.
func (j *job) goRunner(goroot, modCache string, extra []string) *gocmd.Runner {
	env := []string{
		"GOROOT=" + goroot,
		"GOCACHE=" + filepath.Join(j.cache, "gocache"),
		"GOMODCACHE=" + modCache,
		"GOFLAGS=-mod=mod -modcacherw",
	}
	env = append(append(env, j.env...), extra...)
	return &gocmd.Runner{GoBin: toolchainGo(goroot), Env: env}
}
