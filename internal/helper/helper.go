// Package helper owns the protocol between a rebuilding binary and its
// helper: the go-selfcompile command, which the bundle carries built for
// the host's platform, run as "go-selfcompile helper".
//
// A host links only what it needs at every start and for the last step of
// a rebuild: the bundle's registration, running the helper, and the swap.
// What only a rebuild needs — resolving plugin versions, editing go.mod,
// type-checking plugins with go/packages, the go command's environment,
// the archives, running the new binary in smoke mode — runs in the
// helper: it costs the host no code, and no process-wide state of the
// host (its PATH, its working directory) is touched.
//
// The host writes one [Request] to the helper's stdin; the helper writes
// [Message] lines to its stdout as things happen (stage events, package
// counts, go command runs, warnings, drift), then the [Outcome]. Both begin with a line naming the protocol
// [Version]; a side refuses another version rather than guess. The
// host keeps the helper's stdin open after the request, until it has the
// outcome: the helper stops what it runs and exits when it reads the end
// of its input, for the host went (killed, crashed, exited). The
// encoding is lines of Go-quoted strings (see wire.go), which both sides
// read with strconv alone. This package holds the protocol and the host's
// client; the helper's side is package internal/rebuild. It must stay
// light: every host links it.
package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/proc"
)

// Version is the protocol version this package speaks.
const Version = 6

// Verb is the go-selfcompile subcommand that serves the protocol.
const Verb = "helper"

// header begins every request and every answer.
const header = "go-selfcompile-helper"

// Request is what a host asks of the helper: one of its fields is set.
type Request struct {
	// Check refuses what the job alone shows to be wrong (a malformed
	// spec, removing what is not installed) and says when it asks for
	// nothing that is not already so. Nothing is unpacked.
	Check *Job
	// Rebuild runs the stages that build and check the new binary:
	// toolchain, source, modgen, verify, build and smoke.
	Rebuild *Job
}

// Job is one rebuild, as the host hands it to the helper.
type Job struct {
	Plugins []string
	Remove  []string
	// Installed is the running binary's plugin set, versions from its
	// build information.
	Installed []bundle.Plugin
	// Bundle is the directory holding the running binary's bundle files:
	// the manifest and every part.
	Bundle string
	// Work is the run's work directory (0700, this run's alone) and Cache
	// the directory shared by rebuilds (toolchains, the build cache).
	Work, Cache string
	// GOROOT, when set, is the toolchain to build with, already installed
	// and checked by the host (a slim bundle carries none).
	GOROOT string
	// ModCache is the module cache of the rebuild, kept between rebuilds
	// of one program (and this run's alone while it runs); empty means
	// one inside Work.
	ModCache string
	// Output is the file the new binary is written to.
	Output string
	// HostVersion is the host module's version from its build info.
	HostVersion string
	// Settings are the running binary's build settings, from its build
	// information: the rebuild's flags and environment come from them.
	Settings []Setting
	// Env holds the caller's extra settings for the go command, applied
	// over the environment the helper was started with (the host's).
	Env []string
	// Dir is the absolute directory relative local-directory specs are
	// taken from.
	Dir             string
	RegisterFuncs   []string
	Constructors    []string
	DriftPolicy     int
	RefuseRetracted bool
	// Allow is the install policy: module path patterns in GOPRIVATE
	// syntax; empty allows every plugin.
	Allow string
	// RequireChecksumDB refuses modules fetched without the checksum
	// database instead of warning.
	RequireChecksumDB bool
	// Previous is the binary that runs the rebuild, for its record.
	Previous string
	// DryRun stops after verify: the plugins are resolved and checked,
	// nothing is built.
	DryRun bool
	// Registrations, when the host reports what is registered, is what
	// is registered in the running binary: the new binary must report one
	// more for each plugin new to it.
	Registrations []string
	// ReportsRegistrations says whether the host reports registrations.
	ReportsRegistrations bool
	// SmokeTimeout bounds each run of the new binary; SmokeArgs are run
	// once more after the report.
	SmokeTimeout time.Duration
	SmokeArgs    []string
}

// Setting is one build setting, as runtime/debug.BuildSetting.
type Setting struct {
	Key, Value string
}

// Message is one thing the helper says while it works: an event, a
// warning, the drift modgen found, how many packages a stage compiled so
// far, or a go command it ran. One field is set.
type Message struct {
	Event     *Event
	Warning   string
	Drift     []bundle.Drift
	Progress  *Progress
	GoCommand *GoCommand
}

// Progress is how far the go command is in a stage that compiles: Done
// of Total packages started.
type Progress struct {
	Stage       string
	Done, Total int
}

// GoCommand is one run of the go command in the helper.
type GoCommand struct {
	Stage    string
	Args     []string // after "go"
	Dir      string
	Duration time.Duration
	Err      string // empty when it succeeded
}

// Event is a stage starting or ending in the helper.
type Event struct {
	Kind     string // "start", "done" or "failed"
	Stage    string
	Duration time.Duration
	Err      string
}

// Outcome is what a request came to. On failure Err is set and the other
// fields hold what the helper learned before it failed.
type Outcome struct {
	// Noop, from Check, says why the job is nothing to do.
	Noop string
	// Binary is the new binary and BundleDir the directory holding the
	// bundle it carries; Plugins is its plugin set.
	Binary, BundleDir string
	Plugins           []bundle.Plugin
	// Added are the plugins the specs resolved to.
	Added []bundle.Plugin
	// Drift lists the changes the plugins make to the host's dependencies
	// (the client gathers it from the messages).
	Drift []bundle.Drift
	// Checks are the verify stage's findings, one per added plugin.
	Checks    []Check
	GoVersion string
	// Smoke is the report the new binary gave in smoke mode.
	Smoke *SmokeReport
	Err   *Error
}

// Check is what the verify stage found in one plugin. Positions are
// "file:line:column", the file shortened to its last two elements.
type Check struct {
	Path, Name, Module, Version string
	Inits, VarInits             []string
	Registrations               []Registration
	Via                         []string
	Constructor                 *Construction
}

// Construction is how a constructor plugin registers (see
// verify.Construction).
type Construction struct {
	Func, Register, Type string
}

// Registration is a call to a registration function found in a plugin.
type Registration struct {
	Func, Pos string
}

// SmokeReport is what the new binary reported (see package smoke).
type SmokeReport struct {
	Nonce, GoVersion string
	Plugins          []bundle.Plugin // path and version
	Registered       []string
}

// Error is a failure in the helper: the stage it happened in and its
// message. Refused is set when the request itself was at fault (a bad
// spec, a plugin that does not pass its checks, drift the policy
// refuses), as opposed to the machine (no network, a full disk).
type Error struct {
	Stage   string
	Msg     string
	Refused bool
}

func (e *Error) Error() string { return e.Msg }

// Helper is a helper binary and the environment it runs in.
type Helper struct {
	// Bin is the go-selfcompile executable.
	Bin string
	// Env is its complete environment; nil means the process's.
	Env []string
	// Dir is its working directory.
	Dir string
}

// stderrTail is how much of the helper's stderr an error quotes.
const stderrTail = 4 << 10

// Call runs the helper once with req. Every message before the outcome is
// passed to on, as it arrives (on may be nil). The outcome is returned
// even when it reports a failure (Outcome.Err); the error is for a helper
// that could not run or answer.
func (h Helper) Call(ctx context.Context, req Request, on func(Message)) (*Outcome, error) {
	var in strings.Builder
	if err := WriteRequest(&in, req); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, h.Bin, Verb)
	cmd.Dir = h.Dir
	cmd.Env = h.Env
	// The helper's standard input stays open until Wait closes it: its
	// end tells the helper that this process went, however it went.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	proc.Setup(cmd, proc.Interrupt, 3*time.Second)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the helper %s: %w", h.Bin, err)
	}
	// A helper that ended before reading it all says why below.
	_, _ = io.WriteString(stdin, in.String())
	done, readErr := readAnswer(stdout, on)
	err = cmd.Wait()
	_ = proc.Kill(cmd) // a go command it left behind
	if ctx.Err() != nil {
		return done, fmt.Errorf("helper: %w", ctx.Err())
	}
	if readErr != nil {
		if err == nil {
			err = readErr
		}
		return nil, fmt.Errorf("the helper %s ended without an answer: %v%s", h.Bin, err, quote(stderr.String()))
	}
	return done, nil
}

func quote(stderr string) string {
	s := strings.TrimSpace(stderr)
	if s == "" {
		return ""
	}
	return "\n" + s
}

// WriteRequest writes req.
func WriteRequest(w io.Writer, req Request) error {
	lw := &lineWriter{w: w}
	verb, job := "check", req.Check
	if req.Rebuild != nil {
		verb, job = "rebuild", req.Rebuild
	}
	if job == nil {
		return errors.New("helper: empty request")
	}
	lines := [][]string{{header, strconv.Itoa(Version), verb}}
	add := func(kind string, fields ...string) { lines = append(lines, append([]string{kind}, fields...)) }
	each := func(kind string, vals []string) {
		for _, v := range vals {
			add(kind, v)
		}
	}
	each("plugin", job.Plugins)
	each("remove", job.Remove)
	for _, p := range job.Installed {
		add("installed", pluginFields(p)...)
	}
	add("bundle", job.Bundle)
	add("work", job.Work)
	add("cache", job.Cache)
	add("modcache", job.ModCache)
	add("goroot", job.GOROOT)
	add("output", job.Output)
	add("hostversion", job.HostVersion)
	for _, s := range job.Settings {
		add("setting", s.Key, s.Value)
	}
	each("env", job.Env)
	add("dir", job.Dir)
	each("registerfunc", job.RegisterFuncs)
	each("constructor", job.Constructors)
	add("driftpolicy", strconv.Itoa(job.DriftPolicy))
	add("refuseretracted", strconv.FormatBool(job.RefuseRetracted))
	add("allow", job.Allow)
	add("requirechecksumdb", strconv.FormatBool(job.RequireChecksumDB))
	add("previous", job.Previous)
	add("dryrun", strconv.FormatBool(job.DryRun))
	add("reportsregistrations", strconv.FormatBool(job.ReportsRegistrations))
	each("registration", job.Registrations)
	add("smoketimeout", job.SmokeTimeout.String())
	each("smokearg", job.SmokeArgs)
	add("end")
	for _, l := range lines {
		if err := lw.line(l[0], l[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// ReadRequest reads a request and refuses another version.
func ReadRequest(r io.Reader) (*Request, error) {
	lr := newLineReader(r)
	kind, f, err := lr.next()
	if err != nil {
		return nil, fmt.Errorf("helper: reading the request: %w", err)
	}
	if err := checkHeader(kind, f); err != nil {
		return nil, fmt.Errorf("helper: %w", err)
	}
	job := &Job{}
	req := &Request{Check: job}
	if len(f) > 1 && f[1] == "rebuild" {
		req = &Request{Rebuild: job}
	}
	for {
		kind, f, err := lr.next()
		if err == io.EOF {
			err = errNoEnd
		}
		if err != nil {
			return nil, fmt.Errorf("helper: reading the request: %w", err)
		}
		if kind == "end" {
			return req, nil
		}
		if err := job.set(kind, f); err != nil {
			return nil, fmt.Errorf("helper: reading the request: %w", err)
		}
	}
}

// set applies one request line to job.
func (job *Job) set(kind string, f []string) error {
	n := 1
	switch kind {
	case "installed":
		n = pluginFieldCount
	case "setting":
		n = 2
	}
	if err := want(kind, f, n); err != nil {
		return err
	}
	var err error
	switch kind {
	case "plugin":
		job.Plugins = append(job.Plugins, f[0])
	case "remove":
		job.Remove = append(job.Remove, f[0])
	case "installed":
		job.Installed = append(job.Installed, plugin(f))
	case "bundle":
		job.Bundle = f[0]
	case "work":
		job.Work = f[0]
	case "cache":
		job.Cache = f[0]
	case "modcache":
		job.ModCache = f[0]
	case "goroot":
		job.GOROOT = f[0]
	case "output":
		job.Output = f[0]
	case "hostversion":
		job.HostVersion = f[0]
	case "setting":
		job.Settings = append(job.Settings, Setting{Key: f[0], Value: f[1]})
	case "env":
		job.Env = append(job.Env, f[0])
	case "dir":
		job.Dir = f[0]
	case "registerfunc":
		job.RegisterFuncs = append(job.RegisterFuncs, f[0])
	case "constructor":
		job.Constructors = append(job.Constructors, f[0])
	case "driftpolicy":
		job.DriftPolicy, err = strconv.Atoi(f[0])
	case "allow":
		job.Allow = f[0]
	case "dryrun":
		job.DryRun, err = strconv.ParseBool(f[0])
	case "previous":
		job.Previous = f[0]
	case "requirechecksumdb":
		job.RequireChecksumDB, err = strconv.ParseBool(f[0])
	case "refuseretracted":
		job.RefuseRetracted, err = strconv.ParseBool(f[0])
	case "reportsregistrations":
		job.ReportsRegistrations, err = strconv.ParseBool(f[0])
	case "registration":
		job.Registrations = append(job.Registrations, f[0])
	case "smoketimeout":
		job.SmokeTimeout, err = time.ParseDuration(f[0])
	case "smokearg":
		job.SmokeArgs = append(job.SmokeArgs, f[0])
	default:
		// A field a newer host sends: ignored, as an unknown JSON key
		// would be. The version says when a change matters.
	}
	return err
}

func checkHeader(kind string, f []string) error {
	if kind != header || len(f) == 0 {
		return fmt.Errorf("not a go-selfcompile helper message (%q): regenerate the bundle with this version of go-selfcompile", kind)
	}
	if f[0] != strconv.Itoa(Version) {
		return fmt.Errorf("protocol version %s, this side speaks %d: regenerate the bundle with the go-selfcompile version the host links", f[0], Version)
	}
	return nil
}

func pluginFields(p bundle.Plugin) []string {
	return []string{p.Path, p.Module, p.Version, p.Query, p.Dir, p.Constructor, p.Register}
}

// pluginFieldCount is how many fields pluginFields writes.
const pluginFieldCount = 7

func plugin(f []string) bundle.Plugin {
	return bundle.Plugin{Path: f[0], Module: f[1], Version: f[2], Query: f[3], Dir: f[4], Constructor: f[5], Register: f[6]}
}

// Writer writes the helper's side of the protocol: the header, messages,
// then the outcome. It is safe for concurrent use.
type Writer struct {
	lw   lineWriter
	once sync.Once
	err  error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{lw: lineWriter{w: w}} }

func (w *Writer) start() error {
	w.once.Do(func() { w.err = w.lw.line(header, strconv.Itoa(Version)) })
	return w.err
}

// Send writes one message.
func (w *Writer) Send(m Message) error {
	if err := w.start(); err != nil {
		return err
	}
	switch {
	case m.Event != nil:
		e := m.Event
		return w.lw.line("event", e.Kind, e.Stage, e.Duration.String(), e.Err)
	case m.Warning != "":
		return w.lw.line("warning", m.Warning)
	case m.Progress != nil:
		p := m.Progress
		return w.lw.line("progress", p.Stage, strconv.Itoa(p.Done), strconv.Itoa(p.Total))
	case m.GoCommand != nil:
		g := m.GoCommand
		return w.lw.line("go", append([]string{g.Stage, g.Dir, g.Duration.String(), g.Err}, g.Args...)...)
	}
	for _, d := range m.Drift {
		if err := w.lw.line("drift", append([]string{strconv.Itoa(int(d.Kind)), d.Module, d.Old, d.New, d.Base}, d.Plugins...)...); err != nil {
			return err
		}
	}
	return nil
}

// Done writes the outcome; nothing may follow.
func (w *Writer) Done(o *Outcome) error {
	if err := w.start(); err != nil {
		return err
	}
	var lines [][]string
	add := func(kind string, fields ...string) { lines = append(lines, append([]string{kind}, fields...)) }
	if o.Noop != "" {
		add("noop", o.Noop)
	}
	add("binary", o.Binary)
	add("bundledir", o.BundleDir)
	add("goversion", o.GoVersion)
	for _, p := range o.Plugins {
		add("plugin", pluginFields(p)...)
	}
	for _, p := range o.Added {
		add("added", pluginFields(p)...)
	}
	for _, c := range o.Checks {
		add("check", c.Path, c.Name, c.Module, c.Version)
		for _, p := range c.Inits {
			add("init", p)
		}
		for _, p := range c.VarInits {
			add("varinit", p)
		}
		for _, r := range c.Registrations {
			add("registration", r.Func, r.Pos)
		}
		for _, v := range c.Via {
			add("via", v)
		}
		if k := c.Constructor; k != nil {
			add("construct", k.Func, k.Register, k.Type)
		}
	}
	if s := o.Smoke; s != nil {
		add("smoke", s.Nonce, s.GoVersion)
		for _, p := range s.Plugins {
			add("smokeplugin", p.Path, p.Version)
		}
		for _, r := range s.Registered {
			add("registered", r)
		}
	}
	if e := o.Err; e != nil {
		add("error", e.Stage, e.Msg, strconv.FormatBool(e.Refused))
	}
	add("done")
	for _, l := range lines {
		if err := w.lw.line(l[0], l[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// readAnswer reads the helper's messages, passing each to on, then its
// outcome.
func readAnswer(r io.Reader, on func(Message)) (*Outcome, error) {
	defer io.Copy(io.Discard, r)
	lr := newLineReader(r)
	kind, f, err := lr.next()
	if err != nil {
		return nil, err
	}
	if err := checkHeader(kind, f); err != nil {
		return nil, err
	}
	o := &Outcome{}
	for {
		kind, f, err := lr.next()
		if err == io.EOF {
			err = errNoEnd
		}
		if err != nil {
			return nil, err
		}
		if kind == "done" {
			return o, nil
		}
		msg, err := o.set(kind, f)
		if err != nil {
			return nil, err
		}
		if msg != nil && on != nil {
			on(*msg)
		}
	}
}

// set applies one answer line to o; a line that is a message is returned.
func (o *Outcome) set(kind string, f []string) (*Message, error) {
	n := map[string]int{"event": 4, "drift": 5, "progress": 3, "go": 4, "plugin": pluginFieldCount, "added": pluginFieldCount, "check": 4, "construct": 3, "registration": 2, "smoke": 2, "smokeplugin": 2, "error": 3}[kind]
	if n == 0 {
		n = 1
	}
	if err := want(kind, f, n); err != nil {
		return nil, err
	}
	last := func() (*Check, error) {
		if len(o.Checks) == 0 {
			return nil, fmt.Errorf("malformed answer: %s before check", kind)
		}
		return &o.Checks[len(o.Checks)-1], nil
	}
	switch kind {
	case "event":
		d, err := time.ParseDuration(f[2])
		if err != nil {
			return nil, err
		}
		return &Message{Event: &Event{Kind: f[0], Stage: f[1], Duration: d, Err: f[3]}}, nil
	case "warning":
		return &Message{Warning: f[0]}, nil
	case "progress":
		done, err1 := strconv.Atoi(f[1])
		total, err2 := strconv.Atoi(f[2])
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		return &Message{Progress: &Progress{Stage: f[0], Done: done, Total: total}}, nil
	case "go":
		d, err := time.ParseDuration(f[2])
		if err != nil {
			return nil, err
		}
		return &Message{GoCommand: &GoCommand{Stage: f[0], Dir: f[1], Duration: d, Err: f[3], Args: f[4:]}}, nil
	case "drift":
		k, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, err
		}
		d := bundle.Drift{Kind: bundle.DriftKind(k), Module: f[1], Old: f[2], New: f[3], Base: f[4], Plugins: f[5:]}
		o.Drift = append(o.Drift, d)
		return &Message{Drift: []bundle.Drift{d}}, nil
	case "noop":
		o.Noop = f[0]
	case "binary":
		o.Binary = f[0]
	case "bundledir":
		o.BundleDir = f[0]
	case "goversion":
		o.GoVersion = f[0]
	case "plugin":
		o.Plugins = append(o.Plugins, plugin(f))
	case "added":
		o.Added = append(o.Added, plugin(f))
	case "check":
		o.Checks = append(o.Checks, Check{Path: f[0], Name: f[1], Module: f[2], Version: f[3]})
	case "init", "varinit", "registration", "via", "construct":
		c, err := last()
		if err != nil {
			return nil, err
		}
		switch kind {
		case "init":
			c.Inits = append(c.Inits, f[0])
		case "varinit":
			c.VarInits = append(c.VarInits, f[0])
		case "via":
			c.Via = append(c.Via, f[0])
		case "construct":
			c.Constructor = &Construction{Func: f[0], Register: f[1], Type: f[2]}
		default:
			c.Registrations = append(c.Registrations, Registration{Func: f[0], Pos: f[1]})
		}
	case "smoke":
		o.Smoke = &SmokeReport{Nonce: f[0], GoVersion: f[1]}
	case "smokeplugin", "registered":
		if o.Smoke == nil {
			return nil, fmt.Errorf("malformed answer: %s before smoke", kind)
		}
		if kind == "registered" {
			o.Smoke.Registered = append(o.Smoke.Registered, f[0])
		} else {
			o.Smoke.Plugins = append(o.Smoke.Plugins, bundle.Plugin{Path: f[0], Version: f[1]})
		}
	case "error":
		refused, err := strconv.ParseBool(f[2])
		if err != nil {
			return nil, err
		}
		o.Err = &Error{Stage: f[0], Msg: f[1], Refused: refused}
	}
	return nil, nil
}

// tailBuffer keeps the last stderrTail bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > stderrTail {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-stderrTail:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
