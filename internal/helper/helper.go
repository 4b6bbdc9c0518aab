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
// messages to its stdout as things happen (the host's events: stage
// starts and ends, package counts, go command runs, warnings, drift),
// then the [Outcome]. Both begin with a line naming the protocol
// [Version]; a side refuses another version rather than guess. The host
// keeps the helper's stdin open after the request, until it has the
// outcome: the helper stops what it runs and exits when it reads the end
// of its input, for the host went (killed, crashed, exited).
//
// Each value travels as one record, by the names of its fields (see
// codec.go), in lines of Go-quoted strings (see wire.go) which both sides
// read with strconv and reflect alone: the message and outcome types are
// the host's own (package selfcompile's Event, Result and Error), which
// this package does not know. This package holds the protocol and the
// host's client; the helper's side is package internal/rebuild. It must
// stay light: every host links it.
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
const Version = 9 // 9: Job.Toolchain, Vulns, Store: fields an older helper would ignore

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
	// Audit checks the binary Job.Previous names against the
	// vulnerability database (of Job.Env's GOVULNDB) and builds nothing.
	Audit *Job
}

// Job is one rebuild, as the host hands it to the helper: the host's
// Options it acts on, and what the host knows of the running binary.
type Job struct {
	// Plugins and Remove are Options.Plugins and Options.Remove.
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
	Dir string
	// RegisterFuncs, Constructors, DriftPolicy and RefuseRetracted are
	// the Options of those names.
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

	// Vulns is Options.Vulns, the vulnerability policy; the database is
	// GOVULNDB's, in Env or else the helper's environment.
	Vulns int
	// Store, TrustedKeys and SigningKey are the Options of those names:
	// the helper alone reads the signing key's file.
	Store       string
	TrustedKeys []string
	SigningKey  string
	// Toolchain is Options.Toolchain: the Go to move to ("patch",
	// "latest", "go1.26.9"); empty keeps the bundled one.
	Toolchain string
}

// Setting is one build setting, as runtime/debug.BuildSetting.
type Setting struct {
	Key, Value string
}

// Outcome is what a request came to, R being the host's result type and
// E its error type: the helper fills it with the host's own types, so
// that the host keeps what it reads. On failure Err is set and Result
// holds what the helper learned before it failed.
type Outcome[R, E any] struct {
	// NothingToDo, from Check or Rebuild, says why the job is nothing to
	// do: Rebuild learns it only for a toolchain alone that selects the
	// Go the binary has.
	NothingToDo string
	// BundleDir is the directory holding the bundle the new binary
	// carries.
	BundleDir string
	Result    R
	Err       *E
}

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

// Call runs the helper h once with req. Every message before the outcome
// is decoded as an M and passed to on, as it arrives (on may be nil). The
// outcome is returned even when it reports a failure (its Err); the error
// is for a helper that could not run or answer.
func Call[M, O any](ctx context.Context, h Helper, req Request, on func(*M)) (*O, error) {
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
	done, readErr := ReadAnswer[M, O](stdout, on)
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
	verb, job := "check", req.Check
	switch {
	case req.Rebuild != nil:
		verb, job = "rebuild", req.Rebuild
	case req.Audit != nil:
		verb, job = "audit", req.Audit
	}
	if job == nil {
		return errors.New("helper: empty request")
	}
	lw := &lineWriter{w: w}
	return errors.Join(lw.line(header, strconv.Itoa(Version), verb), lw.line(verb, encode(job)...), lw.line(end))
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
	if len(f) > 1 && f[1] == "audit" {
		req = &Request{Audit: job}
	}
	for {
		kind, f, err := lr.next()
		if err == io.EOF {
			err = errNoEnd
		}
		if err == nil && (kind == "check" || kind == "rebuild" || kind == "audit") {
			err = decode(job, f)
		}
		if err != nil {
			return nil, fmt.Errorf("helper: reading the request: %w", err)
		}
		if kind == end {
			return req, nil
		}
	}
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

// Send writes one message, a struct or a pointer to one: the host
// decodes it as the M of its Call.
func (w *Writer) Send(m any) error {
	if err := w.start(); err != nil {
		return err
	}
	return w.lw.line(message, encode(m)...)
}

// Done writes the outcome, a pointer to an Outcome; nothing may follow.
func (w *Writer) Done(o any) error {
	if err := w.start(); err != nil {
		return err
	}
	return errors.Join(w.lw.line(outcome, encode(o)...), w.lw.line(end))
}

// The kinds of line after the header.
const (
	message = "message"
	outcome = "done"
	end     = "end"
)

// ReadAnswer reads the helper's messages, decoding each as an M and
// passing it to on (which may be nil), then its outcome, decoded as an O.
func ReadAnswer[M, O any](r io.Reader, on func(*M)) (*O, error) {
	defer io.Copy(io.Discard, r)
	lr := newLineReader(r)
	kind, f, err := lr.next()
	if err != nil {
		return nil, err
	}
	if err := checkHeader(kind, f); err != nil {
		return nil, err
	}
	var o *O
	for {
		kind, f, err := lr.next()
		if err == io.EOF {
			err = errNoEnd
		}
		if err != nil {
			return nil, err
		}
		switch kind {
		case end:
			if o == nil {
				return nil, errNoEnd
			}
			return o, nil
		case outcome:
			o = new(O)
			if err := decode(o, f); err != nil {
				return nil, fmt.Errorf("malformed outcome: %w", err)
			}
		case message:
			m := new(M)
			if err := decode(m, f); err != nil {
				return nil, fmt.Errorf("malformed message: %w", err)
			}
			if on != nil {
				on(m)
			}
		}
	}
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
