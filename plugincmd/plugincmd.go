// Package plugincmd is a ready-made command set for managing a host's
// plugins, mounted by a host in one line of its main:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	if len(os.Args) > 1 && os.Args[1] == "plugins" {
//		os.Exit(plugincmd.Main(ctx, os.Args[2:], plugincmd.Config{}))
//	}
//
// It gives the host's users
//
//	plugins add [--dry-run] [--json] SPEC...     install or move plugins (--go[=VERSION]
//	                                             also moves to another Go, as upgrade's)
//	plugins remove [--dry-run] [--json] PATH...  drop plugins
//	plugins list [--json]                        what this binary was built with
//	plugins upgrade [--dry-run] [--json] [--go[=VERSION]] [PATH...]
//	                                             re-resolve each plugin's recorded query;
//	                                             rebuild only if a version moves; a plugin
//	                                             added at an exact version stays, and so
//	                                             do the other plugins of its module;
//	                                             --go also moves to the newest patch
//	                                             release of the binary's Go (--go=latest
//	                                             the newest release, --go=go1.26.9 that one)
//	plugins rollback                             go back to the previous binary
//	plugins verify [--json] SPEC...              the checks alone: nothing is built
//	plugins audit [--json]                       this binary's known vulnerabilities (GOVULNDB);
//	                                             exit code 3 when a vulnerable function is linked
//
// Progress goes to stderr: on a terminal a live line per stage with its
// elapsed time and the packages compiled out of how many, otherwise a
// line per stage. With --json, every event of the rebuild streams as a
// JSON line on stdout instead ({"event": {"kind": ..., "stage": ...}}:
// stage starts and ends with durations and errors, package counts,
// warnings, drift, and every go command run), then the result. With
// --verbose, every go command run is logged to stderr, with its
// arguments and duration; a host that logs with log/slog sets
// Config.Logger, or passes [LogEvents] to selfcompile.Options.OnEvent. The exit code is 0 on success, 2 for a request that
// was refused (bad usage, a bad spec, a plugin that fails its checks,
// drift or an install policy that refuses it, a stale bundle or a host
// setting that names nothing: see selfcompile.ErrRefused),
// and 1 for any other failure; 3 when the binary was replaced but
// Config.AfterSwap, the host's hand-over to it, failed. SIGINT (Ctrl-C)
// or SIGTERM stops a rebuild: Main says "interrupted; nothing changed" and returns 130; a
// second signal ends the process. The host's settings (Config) are not the
// user's flags: an install policy, registration functions and the like
// stay the host's.
package plugincmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// Config is the host's side of the command set. The zero value is
// usable: stdout and stderr are the process's, and every option but
// those the commands set is selfcompile's default.
type Config struct {
	// Options are the host's settings for every rebuild (RegisterFuncs,
	// Allow, DriftPolicy, ...). Plugins, Remove and DryRun are set by the
	// commands.
	Options selfcompile.Options
	// Name is what usage messages call the command set; empty means
	// "plugins".
	Name string
	// Stdout and Stderr default to os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// Logger, when set, receives every go command a rebuild runs, with
	// its arguments and duration, and each stage's end, warnings and
	// drift (see LogEvents). The library itself takes an OnEvent func
	// rather than a *slog.Logger, to spare hosts that do not log the
	// cost of linking log/slog.
	Logger *slog.Logger

	// AfterSwap, when set, is called after a command put a new binary in
	// place of the running executable (add, remove, upgrade or rollback;
	// not a dry run, not Options.Output, not a request with nothing to
	// do), with the rebuild's Result (after a rollback, only Binary is
	// set). It is how a server hands over to the new binary: send the
	// running server its upgrade signal (SIGHUP to the pid in its pid
	// file, for a server using github.com/cloudflare/tableflip; see
	// example/webhost), or run `systemctl reload myhost.service` for a
	// unit whose ExecReload does so, or `systemctl restart` for one that
	// keeps its sockets in systemd (socket activation). Its error is
	// reported on one line and Main returns ExitAfterSwapFailed; the new
	// binary stays in place. ctx is Main's: cancelled by SIGINT or
	// SIGTERM.
	AfterSwap func(ctx context.Context, res *selfcompile.Result) error
}

// Exit codes of Main.
const (
	ExitOK      = 0
	ExitFailed  = 1
	ExitRefused = 2
	// ExitInterrupted is 128 plus SIGINT's number, as a shell reports a
	// command Ctrl-C ended.
	ExitInterrupted = 130
)

// Main runs one command of the set with args (the words after the
// command set's own name) and returns the process's exit code. It neither
// exits nor reads os.Args, so that any command-line library can mount it:
// with spf13/cobra, a command with DisableFlagParsing whose Run passes
// its args, cmd.OutOrStdout() and cmd.ErrOrStderr() to Main (see
// example/cobrahost in this repository). While it runs it handles SIGINT
// and SIGTERM itself, as a command's main does (see the package
// documentation); it stops handling them before it returns.
func Main(ctx context.Context, args []string, cfg Config) int {
	ctx, interrupted, stop := onSignal(ctx)
	defer stop()
	c := &command{cfg: cfg, stdout: cfg.Stdout, stderr: cfg.Stderr, name: cfg.Name, interrupted: interrupted}
	if c.stdout == nil {
		c.stdout = os.Stdout
	}
	if c.stderr == nil {
		c.stderr = os.Stderr
	}
	if c.name == "" {
		c.name = "plugins"
	}
	return c.run(ctx, args)
}

// onSignal returns a context that SIGINT or SIGTERM cancels, and what
// reports whether one did (also when the host's own handler cancelled
// ctx for the same signal first). After the first signal, a signal does
// what it would do without Main; stop restores that at once.
func onSignal(ctx context.Context) (context.Context, func() bool, func()) {
	ctx, cancel := context.WithCancel(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got atomic.Bool
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			got.Store(true)
			signal.Stop(sigs)
			cancel()
		case <-done:
		}
	}()
	stop := func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
	return ctx, got.Load, stop
}

type command struct {
	cfg            Config
	name           string
	stdout, stderr io.Writer
	json           bool
	verbose        bool
	// interrupted reports whether a signal stopped the command.
	interrupted func() bool
}

func (c *command) usage() int {
	c.printUsage(c.stderr)
	return ExitRefused
}

func (c *command) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %[1]s add [--dry-run] [--json] [--verbose] [--go[=VERSION]] SPEC...\n       %[1]s remove [--dry-run] [--json] [--verbose] PATH...\n       %[1]s list [--json]\n       %[1]s upgrade [--dry-run] [--json] [--verbose] [--go[=VERSION]] [PATH...]\n       %[1]s rollback\n       %[1]s verify [--json] [--verbose] SPEC...\n       %[1]s audit [--json]\n", c.name)
}

func (c *command) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		return c.usage()
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		c.printUsage(c.stdout)
		return ExitOK
	}
	fs := flag.NewFlagSet(c.name+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	dryRun := fs.Bool("dry-run", false, "resolve and check; build and change nothing")
	fs.BoolVar(&c.json, "json", false, "stream events and the result as JSON lines on stdout")
	fs.BoolVar(&c.verbose, "verbose", false, "log every go command run to stderr")
	o := c.cfg.Options
	fs.Var(goFlag{&o.Toolchain}, "go", "move to another Go: --go the newest patch release, --go=latest the newest release, --go=go1.26.9 that one")
	if err := fs.Parse(args[1:]); err != nil {
		return ExitRefused
	}
	rest := fs.Args()
	o.DryRun = *dryRun
	switch args[0] {
	case "add":
		if len(rest) == 0 {
			return c.usage()
		}
		o.Plugins = rest
		return c.rebuild(ctx, o)
	case "remove":
		if len(rest) == 0 {
			return c.usage()
		}
		o.Remove = rest
		return c.rebuild(ctx, o)
	case "verify":
		if len(rest) == 0 {
			return c.usage()
		}
		o.Plugins, o.DryRun = rest, true
		return c.rebuild(ctx, o)
	case "upgrade":
		return c.upgrade(ctx, o, rest)
	case "list":
		return c.list()
	case "audit":
		return c.audit(ctx, o)
	case "rollback":
		exe, err := selfcompile.Rollback(ctx)
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stderr, "%s: rolled back %s\n", c.name, exe)
		return c.afterSwap(ctx, &selfcompile.Result{Binary: exe})
	}
	fmt.Fprintf(c.stderr, "%s: unknown command %q\n", c.name, args[0])
	return c.usage()
}

// rebuild runs one rebuild and reports it.
func (c *command) rebuild(ctx context.Context, o selfcompile.Options) int {
	var hooks []func(selfcompile.Event)
	if o.OnEvent != nil {
		hooks = append(hooks, o.OnEvent)
	}
	if c.cfg.Logger != nil {
		hooks = append(hooks, LogEvents(c.cfg.Logger))
	}
	if c.verbose {
		hooks = append(hooks, LogEvents(slog.New(slog.NewTextHandler(c.stderr, nil))))
	}
	if c.json {
		enc := c.encoder()
		hooks = append(hooks, func(e selfcompile.Event) { _ = enc.Encode(map[string]any{"event": e}) })
	} else if o.Progress == nil {
		o.Progress = c.stderr
	}
	o.OnEvent = func(e selfcompile.Event) {
		for _, h := range hooks {
			h(e)
		}
	}
	res, err := runRebuild(ctx, o)
	if c.json {
		out := map[string]any{"result": res}
		if err != nil {
			out["error"] = err.Error()
			out["refused"] = errors.Is(err, selfcompile.ErrRefused)
		}
		_ = c.encoder().Encode(out)
	}
	if err != nil {
		return c.fail(err)
	}
	if !c.json {
		verb := "installed"
		if o.DryRun {
			verb = "would install"
		}
		was := map[string]string{}
		for _, p := range selfcompile.Installed() {
			was[p.Path] = p.Version
		}
		for _, p := range res.Added {
			from := ""
			if v, ok := was[p.Path]; ok && v != p.Version && v != "" {
				from = " (was " + v + ")"
			}
			fmt.Fprintf(c.stderr, "%s: %s %s%s\n", c.name, verb, strings.TrimSpace(p.Path+" "+p.Version), from)
		}
		for _, ch := range res.Checks {
			fmt.Fprintf(c.stderr, "%s: %s %s\n", c.name, ch.Path, registersHow(ch))
		}
		if t := res.Toolchain; t != nil {
			verb := "moved to"
			if o.DryRun {
				verb = "would move to"
			}
			fmt.Fprintf(c.stderr, "%s: %s %s (was %s)\n", c.name, verb, t.To, t.From)
		}
		// A fetched binary was checked where it was built: the store
		// (Options.Store, a host setting) says where.
		if s := res.Store; s != nil && s.Fetched {
			fmt.Fprintf(c.stderr, "%s: fetched from %s, built and checked by another machine; smoke-tested here\n", c.name, s.Location)
		}
	}
	if replaced(o, res, err) {
		return c.afterSwap(ctx, res)
	}
	return ExitOK
}

// registersHow says how a checked plugin registers: from its init code
// (and that of the packages it brings), or through its constructor.
func registersHow(ch selfcompile.Check) string {
	if k := ch.Constructor; k != nil {
		return fmt.Sprintf("registers through its constructor: %s(%s()), a %s", k.Register, k.Func, k.Type)
	}
	how := "registers from " + strings.Join(append(slices.Clone(ch.Inits), ch.VarInits...), ", ")
	if len(ch.Via) > 0 {
		how += " (the init code of " + strings.Join(ch.Via, ", ") + ")"
	}
	return how
}

// upgrade re-resolves the recorded query of each installed plugin (or of
// those named) and rebuilds only if a version moves.
func (c *command) upgrade(ctx context.Context, o selfcompile.Options, paths []string) int {
	var specs []string
	current := map[string]string{}
	installed := selfcompile.Installed()
	pinnedIn := map[string]selfcompile.Plugin{} // module -> a plugin of it pinned at an exact version
	for _, p := range installed {
		if pinned(p) {
			pinnedIn[p.Module] = p
		}
	}
	for _, p := range installed {
		if len(paths) > 0 && !contains(paths, p.Path) && !contains(paths, p.Module) {
			continue
		}
		if p.Dir != "" || p.Version == "" {
			continue // a local directory or a package of the host: nothing to resolve
		}
		if p.Query == selfcompile.QueryBuildList {
			fmt.Fprintf(c.stderr, "%s: %s stays at %s, the build's version of %s: it moves only with that module\n", c.name, p.Path, p.Version, p.Module)
			continue
		}
		if pin, ok := pinnedIn[p.Module]; ok {
			// An exact version stays, and so does every plugin of its
			// module: a build holds one version of a module.
			why := "pinned"
			if pin.Path != p.Path {
				why = fmt.Sprintf("it shares module %s with %s, pinned", p.Module, pin.Path)
			}
			fmt.Fprintf(c.stderr, "%s: left %s at %s: %s (add %s@latest to move it)\n", c.name, p.Path, p.Version, why, pin.Path)
			continue
		}
		q := p.Query
		if q == "" {
			q = "latest"
		}
		specs = append(specs, p.Path+"@"+q)
		current[p.Path] = p.Version
	}
	if len(specs) == 0 {
		if o.Toolchain == "" {
			fmt.Fprintf(c.stderr, "%s: nothing to upgrade\n", c.name)
			return ExitOK
		}
		// The Go alone: one rebuild, which says the move, or that
		// there is nothing to do.
		return c.rebuild(ctx, o)
	}
	probe := o
	probe.Plugins, probe.DryRun, probe.Progress, probe.OnEvent = specs, true, nil, nil
	res, err := selfcompile.New(probe).Run(ctx)
	if err != nil {
		return c.fail(err)
	}
	var moved []string
	for _, a := range res.Added {
		if current[a.Path] != a.Version {
			moved = append(moved, a.Path+"@"+a.Query)
			fmt.Fprintf(c.stderr, "%s: %s %s -> %s\n", c.name, a.Path, current[a.Path], a.Version)
		}
	}
	goMoves := c.toolchainMoves(&o, res)
	if len(moved) == 0 && !goMoves {
		if len(specs) > 0 {
			fmt.Fprintf(c.stderr, "%s: every plugin is at the version its query selects\n", c.name)
		}
		return ExitOK
	}
	if o.DryRun {
		return ExitOK
	}
	o.Plugins = moved
	return c.rebuild(ctx, o)
}

// pinned reports whether p was installed at an exact version.
func pinned(p selfcompile.Plugin) bool {
	return p.Dir == "" && p.Version != "" && p.Query == p.Version
}

func (c *command) list() int {
	plugins := selfcompile.Installed()
	if c.json {
		if plugins == nil {
			plugins = []selfcompile.Plugin{}
		}
		_ = c.encoder().Encode(plugins)
		return ExitOK
	}
	if len(plugins) == 0 {
		fmt.Fprintln(c.stdout, "no plugins")
	}
	for _, p := range plugins {
		switch {
		case p.Dir != "":
			fmt.Fprintf(c.stdout, "%s from %s\n", p.Path, p.Dir)
		case p.Version == "":
			fmt.Fprintf(c.stdout, "%s (part of this program's module)\n", p.Path)
		case p.Query == selfcompile.QueryBuildList:
			fmt.Fprintf(c.stdout, "%s %s (the build's version of %s)\n", p.Path, p.Version, p.Module)
		case p.Query != "" && p.Query != p.Version:
			fmt.Fprintf(c.stdout, "%s %s (asked %s)\n", p.Path, p.Version, p.Query)
		default:
			fmt.Fprintf(c.stdout, "%s %s\n", p.Path, p.Version)
		}
	}
	return ExitOK
}

// encoder writes JSON lines to stdout, with specs' < and > as they are.
func (c *command) encoder() *json.Encoder {
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	return enc
}

// fail reports err on one line and returns its exit code.
func (c *command) fail(err error) int {
	if c.interrupted != nil && c.interrupted() {
		// Run leaves the binary as it was when it fails.
		fmt.Fprintf(c.stderr, "%s: interrupted; nothing changed\n", c.name)
		return ExitInterrupted
	}
	fmt.Fprintf(c.stderr, "%s: %v\n", c.name, err)
	if errors.Is(err, selfcompile.ErrRefused) || errors.Is(err, selfcompile.ErrNoBackup) {
		return ExitRefused
	}
	return ExitFailed
}

// LogEvents returns a selfcompile.Options.OnEvent that logs a rebuild to
// l: every go command run at level Info ("go command", with its stage,
// args, dir and duration; at Error with the error when it failed), each
// stage's end at Info ("stage done", or "stage failed" at Error),
// warnings and drift at Warn, what a store fetched or pushed ("store")
// at Info. Stage starts and package counts are not logged.
func LogEvents(l *slog.Logger) func(selfcompile.Event) {
	return func(e selfcompile.Event) {
		ctx := context.Background()
		stage := slog.String("stage", string(e.Stage))
		switch e.Kind {
		case selfcompile.GoCommandRan:
			attrs := []slog.Attr{stage, slog.Any("args", e.Args), slog.String("dir", e.Dir), slog.Duration("duration", e.Duration)}
			if e.Err != nil {
				l.LogAttrs(ctx, slog.LevelError, "go command", append(attrs, slog.String("error", e.Err.Error()))...)
				return
			}
			l.LogAttrs(ctx, slog.LevelInfo, "go command", attrs...)
		case selfcompile.StageDone:
			l.LogAttrs(ctx, slog.LevelInfo, "stage done", stage, slog.Duration("duration", e.Duration))
		case selfcompile.StageFailed:
			l.LogAttrs(ctx, slog.LevelError, "stage failed", stage, slog.Duration("duration", e.Duration), slog.Any("error", e.Err))
		case selfcompile.WarningRaised:
			l.LogAttrs(ctx, slog.LevelWarn, "warning", stage, slog.String("message", e.Message))
		case selfcompile.DriftFound:
			if e.Drift != nil {
				l.LogAttrs(ctx, slog.LevelWarn, "drift", stage, slog.String("change", e.Drift.String()))
			}
		case selfcompile.StoreUsed:
			l.LogAttrs(ctx, slog.LevelInfo, "store", stage, slog.String("message", e.Message), slog.Duration("duration", e.Duration))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
