// Package helper owns the protocol between a rebuilding binary and its
// helper: the go-selfcompile command, which the bundle carries built for
// the host's platform, run as "go-selfcompile helper".
//
// A host links only what it needs at every start and for the last steps
// of a rebuild (the manifest, running the helper, the smoke check, the
// swap). What only a rebuild needs — resolving plugin versions, editing
// go.mod, type-checking plugins with go/packages, the go command's
// environment, the archives — runs in the helper: it costs the host no
// code, and no process-wide state of the host (its PATH, its working
// directory) is touched.
//
// The protocol is one JSON [Request] on the helper's stdin and JSON
// [Message] lines on its stdout: events and warnings as they happen, then
// one carrying [Outcome]. Both carry [Version]; a helper refuses a request
// of another version rather than guess. This package holds the protocol
// and the client; the helper's side is package internal/rebuild. It must
// stay light: every host links it.
package helper

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/proc"
)

// Version is the protocol version this package speaks.
const Version = 2

// Verb is the go-selfcompile subcommand that serves the protocol.
const Verb = "helper"

// Request is what a rebuild asks of the helper: one of its fields is set.
type Request struct {
	Version int `json:"version"`
	// Check refuses what the job alone shows to be wrong (a malformed
	// spec, removing what is not installed) and says when it asks for
	// nothing that is not already so. Nothing is unpacked.
	Check *Job `json:"check,omitempty"`
	// Rebuild runs the stages that build the new binary: toolchain,
	// source, modgen, verify and build.
	Rebuild *Job `json:"rebuild,omitempty"`
	// Verify is a request the helper makes of a copy of itself (see
	// internal/rebuild); it is opaque here.
	Verify json.RawMessage `json:"verify,omitempty"`
}

// Job is one rebuild, as the host hands it to the helper.
type Job struct {
	Plugins []string `json:"plugins,omitempty"`
	Remove  []string `json:"remove,omitempty"`
	// Installed is the running binary's plugin set, versions from its
	// build information.
	Installed []bundle.Plugin `json:"installed,omitempty"`
	// Bundle is the directory holding the running binary's bundle files:
	// the manifest and every part.
	Bundle string `json:"bundle"`
	// Work is the run's work directory (0700, this run's alone) and Cache
	// the directory shared by rebuilds (toolchains, the build cache).
	Work  string `json:"work"`
	Cache string `json:"cache"`
	// Output is the file the new binary is written to.
	Output string `json:"output"`
	// HostVersion is the host module's version from its build info.
	HostVersion string `json:"hostVersion,omitempty"`
	// Settings are the running binary's build settings, from its build
	// information: the rebuild's flags and environment come from them.
	Settings []Setting `json:"settings,omitempty"`
	// Env holds the caller's extra settings for the go command, applied
	// over the environment the helper was started with (the host's).
	Env []string `json:"env,omitempty"`
	// Dir is the absolute directory relative local-directory specs are
	// taken from.
	Dir             string   `json:"dir"`
	RegisterFuncs   []string `json:"registerFuncs,omitempty"`
	DriftPolicy     int      `json:"driftPolicy,omitempty"`
	RefuseRetracted bool     `json:"refuseRetracted,omitempty"`
}

// Setting is one build setting, as runtime/debug.BuildSetting.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Message is one line the helper writes: an event, a warning, or, last,
// the outcome.
type Message struct {
	Version int            `json:"version"`
	Event   *Event         `json:"event,omitempty"`
	Warning string         `json:"warning,omitempty"`
	Drift   []bundle.Drift `json:"drift,omitempty"` // as soon as modgen knows it
	Done    *Outcome       `json:"done,omitempty"`
}

// Event is a stage starting or ending in the helper.
type Event struct {
	Kind     string        `json:"kind"` // "start", "done" or "failed"
	Stage    string        `json:"stage"`
	Duration time.Duration `json:"duration,omitempty"`
	Err      string        `json:"err,omitempty"`
}

// Outcome is what a request came to. On failure Err is set and the other
// fields hold what the helper learned before it failed.
type Outcome struct {
	// Noop, from Check, says why the job is nothing to do.
	Noop string `json:"noop,omitempty"`
	// Binary is the new binary and BundleDir the directory holding the
	// bundle it carries; Manifest is that bundle's manifest.
	Binary    string           `json:"binary,omitempty"`
	BundleDir string           `json:"bundleDir,omitempty"`
	Manifest  *bundle.Manifest `json:"manifest,omitempty"`
	// Added are the plugins the specs resolved to.
	Added []bundle.Plugin `json:"added,omitempty"`
	// Drift lists the changes the plugins make to the host's dependencies.
	Drift []bundle.Drift `json:"drift,omitempty"`
	// Checks are the verify stage's findings, one per added plugin.
	Checks    []Check `json:"checks,omitempty"`
	GoVersion string  `json:"goVersion,omitempty"`
	// Verify is the answer to a Verify request, opaque here.
	Verify json.RawMessage `json:"verify,omitempty"`
	Err    *Error          `json:"err,omitempty"`
}

// Check is what the verify stage found in one plugin. Positions are
// "file:line:column", the file shortened to its last two elements.
type Check struct {
	Path          string         `json:"path"`
	Name          string         `json:"name"`
	Module        string         `json:"module,omitempty"`
	Version       string         `json:"version,omitempty"`
	Inits         []string       `json:"inits,omitempty"`
	VarInits      []string       `json:"varInits,omitempty"`
	Registrations []Registration `json:"registrations,omitempty"`
}

// Registration is a call to a registration function found in a plugin.
type Registration struct {
	Func string `json:"func"`
	Pos  string `json:"pos"`
}

// Error is a failure in the helper: the stage it happened in and its
// message. Refused is set when the request itself was at fault (a bad
// spec, a plugin that does not pass its checks, drift the policy
// refuses), as opposed to the machine (no network, a full disk).
type Error struct {
	Stage   string `json:"stage"`
	Msg     string `json:"msg"`
	Refused bool   `json:"refused,omitempty"`
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
	req.Version = Version
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, h.Bin, Verb)
	cmd.Dir = h.Dir
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(in)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	proc.Isolate(cmd)
	cmd.Cancel = func() error { return proc.Interrupt(cmd) }
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the helper %s: %w", h.Bin, err)
	}
	done, readErr := read(stdout, on)
	err = cmd.Wait()
	_ = proc.Kill(cmd) // a go command it left behind
	if ctx.Err() != nil {
		return done, fmt.Errorf("helper: %w", ctx.Err())
	}
	if readErr != nil {
		return nil, fmt.Errorf("the helper %s: %v%s", h.Bin, readErr, quote(stderr.String()))
	}
	if done == nil {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("the helper %s ended without an answer: %v%s", h.Bin, err, quote(stderr.String()))
	}
	return done, nil
}

// read reads messages until the outcome.
func read(r io.Reader, on func(Message)) (*Outcome, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		var msg Message
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			return nil, fmt.Errorf("malformed message %.200q: %v", sc.Text(), err)
		}
		if msg.Version != Version {
			return nil, fmt.Errorf("it speaks protocol version %d, this library %d: regenerate the bundle with this version of go-selfcompile", msg.Version, Version)
		}
		if msg.Done != nil {
			_, _ = io.Copy(io.Discard, r)
			return msg.Done, nil
		}
		if on != nil {
			on(msg)
		}
	}
	return nil, sc.Err()
}

// Writer writes the helper's side of the protocol. It is safe for
// concurrent use.
type Writer struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{enc: json.NewEncoder(w)} }

// Send writes msg as one line.
func (w *Writer) Send(msg Message) error {
	msg.Version = Version
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(msg)
}

// ReadRequest reads the request from r and refuses another version.
func ReadRequest(r io.Reader) (*Request, error) {
	var req Request
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		return nil, fmt.Errorf("helper: reading the request: %w", err)
	}
	if req.Version != Version {
		return nil, fmt.Errorf("helper: request of protocol version %d, this helper speaks %d: regenerate the bundle with the go-selfcompile version the host links", req.Version, Version)
	}
	return &req, nil
}

func quote(stderr string) string {
	s := strings.TrimSpace(stderr)
	if s == "" {
		return ""
	}
	return "\n" + s
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
