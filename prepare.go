package selfcompile

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/goswitch"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/safedir"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/swap"
)

// job is what the prepare stage decides, once, for the rest of a run.
type job struct {
	fsys     fs.FS         // the bundle the rebuild starts from
	info     *bundle.Info  // what it holds
	target   string        // the file to replace: the real executable, or Output
	identity swap.Identity // what target was once the lock was held
	swapping bool          // target is the running executable
	cache    string        // toolchains and the build cache
	work     string        // this run's work directory (0700)
	modCache string        // the module cache, kept between rebuilds of this program
	helper   helper.Helper // the bundled helper, unpacked into work
	request  helper.Job    // what the helper is asked
	// nothingToDo, when set, says why the request asks for nothing
	// that is not already so.
	nothingToDo string
}

// cleanups is where prepare registers what the cleanup stage undoes.
type cleanups interface {
	Defer(name string, fn func() error)
}

// prepare refuses what the request alone shows to be wrong, reads the
// bundle and the build settings, resolves the target once and makes the
// work directory; the helper, unpacked there, checks the request. Only
// then does it take the lock beside the target and lay out the bundle
// for the helper. Nothing of the host is unpacked yet.
//
// warn says, as it happens, what prepare does that the user should hear
// of: a leftover work directory removed, a wait for another rebuild.
func prepare(ctx context.Context, o Options, c cleanups, warn func(string, ...any)) (*job, error) {
	if len(o.Plugins) == 0 && len(o.Remove) == 0 && o.Toolchain == "" {
		return nil, errors.New("nothing to do: give Options.Plugins to add, Options.Remove to drop or Options.Toolchain to move to another Go")
	}
	if err := goswitch.Check(o.Toolchain); err != nil {
		return nil, &Error{Kind: RefusedToolchain, Stage: StagePrepare, Msg: err.Error()}
	}
	if err := sameIDs(); err != nil {
		return nil, err
	}
	j := &job{}
	var err error
	if j.fsys, j.info, err = registeredBundle(); err != nil {
		return nil, err
	}
	if err := j.resolveTarget(o.Output); err != nil {
		return nil, err
	}
	if !o.DryRun {
		// What the swap would refuse after the build.
		if err := swap.Check(j.target); err != nil {
			return nil, err
		}
	}
	if err := j.fillRequest(o); err != nil {
		return nil, err
	}
	if j.cache, err = cacheDir(o.CacheDir); err != nil {
		return nil, err
	}
	if err := j.makeWorkDir(ctx, o, c, warn); err != nil {
		return nil, err
	}
	// From here on the work directory exists: j is returned with any
	// error, for the cleanup stage to remove it.
	if j.info.Slim != nil {
		if err := j.fetch(ctx, o); err != nil {
			return j, err
		}
	} else if err := j.unpackHelper(); err != nil {
		return j, err
	}
	if j.nothingToDo, err = j.check(ctx); err != nil || j.nothingToDo != "" {
		return j, err
	}
	if !o.DryRun { // a dry run writes nothing beside the target
		if err := j.lockTarget(ctx, o.NoWait, c, warn); err != nil {
			return j, err
		}
	}
	return j, j.layOutBundle()
}

// sameIDs refuses a process whose real and effective user or group
// differ (a setuid or setgid binary): the invoking user's plugins, caches
// and environment would be built and run with the effective ids.
func sameIDs() error {
	uid, euid, gid, egid := os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid()
	if uid == euid && gid == egid {
		return nil
	}
	return fmt.Errorf("refusing to rebuild a setuid or setgid program: this process runs as uid %d gid %d with effective uid %d gid %d; run the rebuild as the user who owns the binary, without the set-id bits", uid, gid, euid, egid)
}

// fillRequest fills the request the helper gets from the options and the
// running binary's build information.
func (j *job) fillRequest(o Options) error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("the running binary has no build information: build it with module support")
	}
	m := j.info
	var settings []helper.Setting
	for _, s := range bi.Settings {
		if (s.Key == "GOOS" && s.Value != m.GOOS) || (s.Key == "GOARCH" && s.Value != m.GOARCH) {
			return fmt.Errorf("the binary is built for %s=%s but its bundle holds a toolchain for %s/%s: regenerate the bundle", s.Key, s.Value, m.GOOS, m.GOARCH)
		}
		settings = append(settings, helper.Setting{Key: s.Key, Value: s.Value})
	}
	base := o.Dir
	if base == "" {
		base = "."
	}
	base, err := filepath.Abs(base)
	if err != nil {
		return err
	}
	j.request = helper.Job{
		Plugins: o.Plugins, Remove: o.Remove, Installed: startingPlugins(),
		HostVersion: bi.Main.Version, Settings: settings,
		Env: o.Env, Dir: base, RegisterFuncs: o.RegisterFuncs, Constructors: o.Constructors,
		DriftPolicy: int(o.DriftPolicy), RefuseRetracted: o.RefuseRetracted, Allow: o.Allow, RequireChecksumDB: o.RequireChecksumDB,
		SmokeTimeout: o.SmokeTimeout, SmokeArgs: o.SmokeArgs, Previous: previous(), DryRun: o.DryRun,
		Vulns:     int(o.Vulns),
		Toolchain: o.Toolchain,
	}
	j.request.Store, j.request.TrustedKeys, j.request.SigningKey = o.Store, o.TrustedKeys, absPath(o.SigningKey)
	j.request.Registrations, j.request.ReportsRegistrations = registrationsNow()
	return nil
}

// previous is the file of the running executable, whose sha256 the new
// binary's bundle records.
func previous() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe
}

// check asks the helper to refuse what the request alone shows to be
// wrong; it returns why the request is nothing to do, if it is.
func (j *job) check(ctx context.Context) (string, error) {
	out, err := helper.Call[Event, outcome](ctx, j.helper, helper.Request{Check: &j.request}, nil)
	if err != nil {
		return "", err
	}
	if out.Err != nil {
		return "", out.Err
	}
	return out.NothingToDo, nil
}

// fetch has a slim bundle's Provide fetch and install the toolchain and
// build the helper with it (package slim): a slim binary carries neither.
func (j *job) fetch(ctx context.Context, o Options) error {
	f := j.info.Slim
	if f.Provide == nil {
		return errors.New("the bundle is slim but its stub sets no Provide: regenerate the bundle")
	}
	got, err := f.Provide(ctx, bundle.FetchRequest{
		Bundle: j.fsys, Slim: f.Slim, GoVersion: j.info.GoVersion, GOOS: j.info.GOOS, GOARCH: j.info.GOARCH,
		Cache: j.cache, ModCache: j.modCache, Work: j.work, Env: o.Env,
	})
	if err != nil {
		return fmt.Errorf("this binary's bundle is slim (go-selfcompile bundle -slim): a rebuild fetches the %s %s/%s toolchain and the modules it builds with through GOPROXY: %w", j.info.GoVersion, j.info.GOOS, j.info.GOARCH, err)
	}
	j.helper = helper.Helper{Bin: got.Helper, Dir: j.work}
	j.request.GOROOT = got.GOROOT
	return nil
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

// lockTarget takes the lock beside the target, checks the target is still
// the binary this process runs, recovers what an interrupted rebuild
// left (staged files, half-written backups, a target missing while its
// backup exists) and records what the target then is: the swap refuses a
// target someone else changed meanwhile. When another rebuild holds the
// lock, it says so and waits, or with noWait refuses, naming that rebuild.
func (j *job) lockTarget(ctx context.Context, noWait bool, c cleanups, warn func(string, ...any)) error {
	unlock, err := swap.Lock(ctx, j.target, false)
	if errors.Is(err, swap.ErrBusy) {
		holder := lockHolder(swap.LockPath(j.target))
		if noWait {
			return fmt.Errorf("%w; another rebuild of %s%s is running, and Options.NoWait refuses to wait for it", swap.ErrBusy, j.target, holder)
		}
		warn("waiting for another rebuild of %s%s to finish (Options.NoWait refuses instead)", j.target, holder)
		unlock, err = swap.Lock(ctx, j.target, true)
	}
	if err != nil {
		return err
	}
	c.Defer("unlock", unlock)
	recordHolder(swap.LockPath(j.target))
	if j.swapping {
		// A rebuild that waited for the lock may find the executable
		// replaced by the one it waited for; building from this process's
		// bundle would drop that one's plugins.
		if err := checkStillRunning(j.target); err != nil {
			return err
		}
	}
	if _, err := swap.Recover(j.target); err != nil {
		return err
	}
	j.identity, err = swap.Identify(j.target)
	return err
}

// recordHolder writes into the lock file, which this process holds, its
// pid: a rebuild that finds the lock held names the one it waits for.
// The lock is the file's lock, not its content, so a failure only loses
// the name.
func recordHolder(lock string) {
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "pid %d\n", os.Getpid())
	f.Close()
}

// lockHolder describes the rebuild that holds lock, from what
// recordHolder wrote there and when: " (pid N, since 15:04:05)", or
// less, as far as the file tells.
func lockHolder(lock string) string {
	fi, err := os.Stat(lock)
	if err != nil {
		return ""
	}
	since := "since " + fi.ModTime().Format(time.TimeOnly)
	data, _ := os.ReadFile(lock)
	var pid int
	if _, err := fmt.Sscanf(string(data), "pid %d", &pid); err == nil && pid > 0 {
		return fmt.Sprintf(" (pid %d, %s)", pid, since)
	}
	return " (" + since + ")"
}

// makeWorkDir makes the work directory, and names the module cache beside
// it, which outlives it (see internal/build: the next rebuild does not
// unpack the same modules again), at paths that stay the same
// between rebuilds of one program: the go command's build cache keys
// depend on source paths (unless -trimpath), so a fresh path every time
// would recompile the host and every dependency. The path is keyed by the
// program (its main package and platform), so rebuilds of any copy of it
// share it; a lock beside it makes it ours alone, and a rebuild that finds
// it busy works in a fresh directory instead (correct, only slower). The cleanup
// stage removes it, unless the run failed and Options.KeepWorkDir is set.
func (j *job) makeWorkDir(ctx context.Context, o Options, c cleanups, warn func(string, ...any)) error {
	parent := o.WorkDir
	if parent == "" {
		parent = filepath.Join(j.cache, "work")
	}
	parent, err := safedir.MkdirAll(parent)
	if err != nil {
		return fmt.Errorf("the work directory: %w", err)
	}
	// Keyed by the program, not by where its executable is: every copy of
	// it, and the binary a rebuild wrote elsewhere, shares the build
	// cache's entries.
	work := filepath.Join(parent, workKey(j.info))
	unlock, err := swap.Lock(ctx, work, false)
	modCache := work + ".mod"
	switch {
	case errors.Is(err, swap.ErrBusy):
		if work, err = os.MkdirTemp(parent, "tmp-*"); err != nil {
			return err
		}
		modCache = filepath.Join(work, "mod")
	case err != nil:
		return err
	default:
		c.Defer("unlock work directory", unlock)
		// A directory left by a rebuild that did not end (its host was
		// killed) or was kept (Options.KeepWorkDir).
		if _, err := os.Lstat(work); err == nil {
			warn("removed %s, left by a rebuild that did not finish", work)
		}
		if err := srctree.RemoveAll(work); err != nil {
			return fmt.Errorf("removing the leftover work directory: %w", err)
		}
		if err := os.Mkdir(work, 0o700); err != nil {
			return fmt.Errorf("creating the work directory: %w", err)
		}
	}
	// Made by this process under a trusted parent: only a module cache
	// kept from an earlier rebuild may be someone else's.
	if err := safedir.Owned(modCache); err != nil {
		return fmt.Errorf("the module cache: %w", err)
	}
	j.work, j.modCache = work, modCache
	pruneWorkDirs(ctx, parent, time.Now().Add(-staleWork))
	return nil
}

// workKey names the work directory of rebuilds of the program m describes.
func workKey(m *bundle.Info) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s %s/%s", m.MainPackage, m.GOOS, m.GOARCH)
	return hex.EncodeToString(h.Sum(nil))
}

// staleWork is how long a work directory left by another rebuild (one
// that crashed, one kept by Options.KeepWorkDir, one of an executable
// since deleted) stays before a rebuild removes it.
const staleWork = 7 * 24 * time.Hour

// pruneWorkDirs removes the work directories under parent last changed
// before cutoff that no rebuild holds. Failures are ignored: pruning is
// housekeeping, and the next rebuild tries again.
func pruneWorkDirs(ctx context.Context, parent string, cutoff time.Time) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		// A module cache is held by its work directory's lock.
		unlock, err := swap.Lock(ctx, strings.TrimSuffix(dir, ".mod"), false)
		if err != nil {
			continue // in use, or not ours to judge
		}
		_ = srctree.RemoveAll(dir)
		_ = unlock()
		if !strings.HasSuffix(dir, ".mod") {
			_ = os.Remove(swap.LockPath(dir))
		}
	}
}

// cacheDir is where toolchains, the build cache and work directories live:
// made if missing, and trusted only if no other user can write to it or
// to the directories above it, nor to the toolchains and build cache in
// it (package safedir). It returns its real path.
func cacheDir(opt string) (string, error) {
	dir := opt
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no user cache directory (%v): set Options.CacheDir", err)
		}
		dir = filepath.Join(base, "go-selfcompile")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if dir, err = safedir.MkdirAll(dir); err != nil {
		return "", fmt.Errorf("the cache directory (Options.CacheDir, or go-selfcompile in the user cache directory, XDG_CACHE_HOME): %w", err)
	}
	// Made here, 0700, or the go command would make the build cache
	// with the umask's mode: group-writable under a umask of 002.
	for _, sub := range []string{"toolchain", "gocache"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		if err := safedir.Owned(p); err != nil {
			return "", fmt.Errorf("the cache directory: %w", err)
		}
	}
	return dir, nil
}
