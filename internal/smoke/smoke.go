// Package smoke owns both ends of the smoke protocol, the last check
// before a rebuilt binary replaces anything.
//
// The binary's end: a binary started with the environment variable [Env]
// set to a nonce writes one [Report] as a JSON line of its own to stdout
// and exits 0, after every package's init has run and before main. The
// generated stub in the host's main package does it, being initialised
// last: it calls [Requested] and [Write] (through package stub's
// Register) and exits.
//
// The rebuild's end: [Check] starts the new binary in smoke mode, finds
// the line carrying the nonce among whatever plugins print, and refuses,
// with an [*Error] quoting the tail of the output, a binary that panics,
// exits, hangs, prints no report, leaves a process holding its output,
// lacks a requested plugin, or (when asked) fails to run with the host's
// own arguments or shows no new registration.
package smoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/proc"
)

// Env is the environment variable that puts a binary in smoke mode.
const Env = "GO_SELFCOMPILE_SMOKE"

// RunEnv tags every run of Check, the smoke run and the run with
// Config.Args, and so the processes they start: on Linux, those left
// running after the binary exits, in its process group or not, are found
// by it and killed. In a child subreaper, those that cleared their
// environment are found too, as the children this process gained during
// the run.
const RunEnv = "GO_SELFCOMPILE_SMOKE_RUN"

// DefaultTimeout bounds each run of the binary when
// Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// pipeGrace is how long a binary that exited may leave its output open
// (a process it started holds it) before the pipe is closed and the
// process group killed; see exec.Cmd.WaitDelay.
const pipeGrace = time.Second

// Report is the JSON line a binary in smoke mode writes to stdout.
type Report struct {
	Nonce     string `json:"go_selfcompile_smoke"`
	GoVersion string `json:"go_version,omitempty"`
	// Plugins are the plugins the binary was built with, with the
	// versions its build information gives.
	Plugins    []bundle.Plugin `json:"plugins"`
	Registered []string        `json:"registered,omitempty"`
}

// Config configures Check. The zero value runs the binary once in
// smoke mode with an empty environment and checks only that it reports;
// Check does not modify it.
type Config struct {
	// Env is the environment of the binary; Check drops any variable
	// named [Env] from it and sets its own nonce for the smoke run.
	Env []string
	// Timeout bounds each run of the binary. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Want lists the plugins the binary must report, at these versions
	// (an empty version is not compared).
	Want []bundle.Plugin
	// Args, when set, are arguments the binary is run with once more after
	// its smoke report passed, without Env: the host's own command
	// (e.g. "--version") must then exit 0 within Timeout.
	Args []string
	// Before is what the old binary reports as registered (the host's
	// selfcompile.ReportRegistrations hook). Nil turns the registration
	// check off; a host with the hook and nothing registered passes an
	// empty, non-nil slice.
	Before []string
	// Added lists the plugins new in this binary (not re-pinned ones).
	// When Before is not nil, the new report must list at least
	// len(Added) registered names more than Before does, counting
	// repeats: each new plugin must have registered something.
	Added []string
}

// Error is a binary that failed the smoke test.
type Error struct {
	Binary string
	Args   []string // the arguments of the failed run; nil for the smoke run
	Msg    string
	Output string // tail of what the binary printed, stdout and stderr together
}

func (e *Error) Error() string {
	msg := "smoke test of the new binary failed: " + e.Msg
	if e.Args != nil {
		msg = fmt.Sprintf("the new binary failed when run with %q: %s", e.Args, e.Msg)
	}
	if e.Output != "" {
		msg += "; it printed:\n" + e.Output
	}
	return msg
}

// Check starts binary in smoke mode, checks its report against cfg, and
// then runs it with cfg.Args when they are set. A binary that fails is
// reported as a *Error; a ctx that ends first, as ctx's error.
//
// On Linux, in a process that is a child subreaper (PR_SET_CHILD_SUBREAPER,
// as the helper that runs it is), every child this process gains while a
// run of the binary lasts is taken for the binary's orphan and killed:
// such a process must not start other commands while Check runs.
func Check(ctx context.Context, binary string, cfg Config) (*Report, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	nonce := newNonce()
	// Every run is tagged, so that what it leaves running is found.
	env := append(gocmd.Without(cfg.Env, Env, RunEnv), RunEnv+"="+nonce)
	out, err := run(ctx, binary, nil, append(env, Env+"="+nonce), timeout, nonce)
	if err != nil {
		return nil, err
	}
	fail := func(msg string) error {
		return &Error{Binary: binary, Msg: msg, Output: out.tail()}
	}
	rep, err := out.report()
	if err != nil {
		return nil, fail(err.Error())
	}
	if msg := checkReport(rep, cfg); msg != "" {
		return nil, fail(msg)
	}
	if len(cfg.Args) > 0 {
		if _, err := run(ctx, binary, cfg.Args, env, timeout, ""); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// checkReport compares a report with what cfg wants; "" means it passes.
func checkReport(rep *Report, cfg Config) string {
	got := map[string]string{}
	for _, p := range rep.Plugins {
		got[p.Path] = p.Version
	}
	for _, w := range cfg.Want {
		v, ok := got[w.Path]
		if !ok {
			return fmt.Sprintf("plugin %s is not linked into it: check that the generated plugin imports list it", w.Path)
		}
		if w.Version != "" && v != w.Version {
			return fmt.Sprintf("plugin %s is at %s, want %s: another requirement moved it; pin a version that agrees", w.Path, v, w.Version)
		}
	}
	if cfg.Before != nil && len(cfg.Added) > 0 {
		return checkRegistered(cfg.Before, rep.Registered, cfg.Added)
	}
	return ""
}

// checkRegistered requires at least one new registration per added plugin.
func checkRegistered(before, after, added []string) string {
	fresh := newNames(before, after)
	if len(fresh) >= len(added) {
		return ""
	}
	return fmt.Sprintf("the host reports %d new registration(s) %q for %d new plugin(s) %s: a plugin's init did not register with the host; check that it calls the host's register function", len(fresh), fresh, len(added), strings.Join(added, ", "))
}

// newNames returns the names of after that before does not hold, counting
// repeats.
func newNames(before, after []string) []string {
	count := map[string]int{}
	for _, n := range before {
		count[n]++
	}
	var fresh []string
	for _, n := range after {
		if count[n] > 0 {
			count[n]--
			continue
		}
		fresh = append(fresh, n)
	}
	return fresh
}

// errTimeout is the cause of a run's context when its timeout expired.
var errTimeout = errors.New("smoke timeout")

// run runs binary with args and env, no stdin, its stdout and stderr
// captured together, in its own process group on unix. Whatever the run
// leaves behind is killed before run returns. A failed run is a
// *Error; a ctx that ends first, ctx's error.
func run(ctx context.Context, binary string, args, env []string, timeout time.Duration, nonce string) (*capture, error) {
	rctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	out := newCapture(nonce)
	cmd := exec.CommandContext(rctx, binary, args...)
	cmd.Env = slices.Clip(env)
	cmd.Stdout, cmd.Stderr = out, out // one pipe: writes keep their order
	proc.Setup(cmd, proc.Kill, pipeGrace)
	w := startWatch()
	err := proc.Run(cmd) // and a process it started that outlived it
	tag, group := "", 0
	if v, ok := gocmd.Lookup(env, RunEnv); ok {
		tag = RunEnv + "=" + v
	}
	if cmd.Process != nil {
		group = cmd.Process.Pid
	}
	left := w.killLeft(tag, group) // one that left the group
	if ctx.Err() != nil {
		return nil, fmt.Errorf("running %s: %w", binary, ctx.Err())
	}
	msg := runFailure(err, rctx, timeout, out, nonce != "")
	if msg == "" && left > 0 {
		msg = fmt.Sprintf("it left %d process running outside its process group (killed): a plugin's init must not leave processes running", left)
	}
	if msg != "" {
		return nil, &Error{Binary: binary, Args: args, Msg: msg, Output: out.tail()}
	}
	return out, nil
}

// runFailure explains why a run failed; "" means it exited 0.
func runFailure(err error, rctx context.Context, timeout time.Duration, out *capture, smoke bool) string {
	during := "while running"
	if smoke {
		during = "during init"
	}
	var exitErr *exec.ExitError
	switch {
	case context.Cause(rctx) == errTimeout:
		return fmt.Sprintf("it did not exit within %v: a plugin's init may block or wait for something (raise the smoke timeout if it is only slow)", timeout)
	case errors.Is(err, exec.ErrWaitDelay):
		return fmt.Sprintf("it exited, but a process it started kept its output open for more than %v: a plugin's init must not leave processes running", pipeGrace)
	case errors.As(err, &exitErr) && out.panicLine() != "":
		return fmt.Sprintf("it crashed %s (%v) with %q", during, exitErr.ProcessState, out.panicLine())
	case errors.As(err, &exitErr) && smoke:
		return fmt.Sprintf("it exited with %v during init; a plugin's init may call os.Exit or log.Fatal", exitErr.ProcessState)
	case errors.As(err, &exitErr):
		return fmt.Sprintf("it exited with %v; the host's own command must succeed with these arguments", exitErr.ProcessState)
	case err != nil:
		return fmt.Sprintf("it could not be run: %v", err)
	}
	return ""
}

// newNonce returns a fresh nonce. It marks the report line among what
// plugins print; it is no secret (the binary reads it from its
// environment), so it needs no cryptographic generator, which a host
// would otherwise link only for this.
func newNonce() string {
	return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
}

// parseReport decodes a report line carrying nonce.
func parseReport(line []byte, nonce string) (*Report, error) {
	var rep Report
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("its report line is not valid JSON (%v): a plugin may have printed on the same line", err)
	}
	if rep.Nonce != nonce {
		return nil, fmt.Errorf("its report line carries the nonce in the wrong field")
	}
	return &rep, nil
}
