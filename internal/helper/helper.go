// Package helper owns the protocol between a rebuilding binary and its
// helper: the go-selfcompile command, which the bundle carries built for
// the host's platform, run as "go-selfcompile helper".
//
// What only a rebuild needs and that must not run in the host's process
// runs in the helper. Today that is the type-check of package verify:
// go/packages runs the go command found on the process's PATH, and a
// library must not change its caller's PATH (another goroutine's
// exec.Command would see it, and with cgo a setenv racing a C getenv is
// undefined behaviour). The helper is started with the bundled go first
// on its PATH instead.
//
// The protocol is one JSON [Request] on the helper's stdin and one JSON
// [Response] on its stdout; both carry [Version], and a helper refuses a
// request of another version rather than guess.
package helper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/proc"
	"github.com/selfcompile/go-selfcompile/verify"
)

// Version is the protocol version this package speaks.
const Version = 1

// Verb is the go-selfcompile subcommand that serves the protocol.
const Verb = "helper"

// Request is what the rebuild asks of the helper.
type Request struct {
	Version int            `json:"version"`
	Verify  *VerifyRequest `json:"verify,omitempty"`
}

// VerifyRequest asks for verify.Plugins(ctx, Config, Paths). Config.Env is
// not sent: the helper's own environment is the go command's.
type VerifyRequest struct {
	Config verify.Config `json:"config"`
	Paths  []string      `json:"paths"`
}

// Response is the helper's answer.
type Response struct {
	Version int             `json:"version"`
	Verify  *VerifyResponse `json:"verify,omitempty"`
	// Error is a failure that is not a plugin's refusal: a go command that
	// could not run, a malformed request.
	Error string `json:"error,omitempty"`
}

// VerifyResponse is what verify.Plugins returned: the reports of the
// plugins that passed and the refusals of the others.
type VerifyResponse struct {
	Reports []verify.Report      `json:"reports"`
	Refused []verify.PluginError `json:"refused,omitempty"`
}

// Helper is a helper binary and the environment it runs in.
type Helper struct {
	// Bin is the go-selfcompile executable.
	Bin string
	// Env is its complete environment: the go command's, with the go to
	// use first on PATH.
	Env []string
	// Dir is its working directory.
	Dir string
}

// stderrTail is how much of the helper's stderr an error quotes.
const stderrTail = 4 << 10

// Verify runs verify.Plugins in the helper. Refusals come back as the
// *verify.PluginError values (joined) that verify.Plugins returns.
func (h Helper) Verify(ctx context.Context, cfg verify.Config, paths []string) ([]verify.Report, error) {
	if len(paths) == 0 {
		return nil, nil // nothing to check: no process to start
	}
	cfg.Env = nil
	resp, err := h.call(ctx, Request{Version: Version, Verify: &VerifyRequest{Config: cfg, Paths: paths}})
	if err != nil {
		return nil, err
	}
	if resp.Verify == nil {
		return nil, fmt.Errorf("the helper %s answered a verify request with no verify result", h.Bin)
	}
	var errs []error
	for i := range resp.Verify.Refused {
		errs = append(errs, &resp.Verify.Refused[i])
	}
	if len(errs) == 1 {
		return resp.Verify.Reports, errs[0]
	}
	return resp.Verify.Reports, errors.Join(errs...)
}

// call runs the helper once with req.
func (h Helper) call(ctx context.Context, req Request) (*Response, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, h.Bin, Verb)
	cmd.Dir = h.Dir
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	proc.Isolate(cmd)
	cmd.Cancel = func() error { return proc.Interrupt(cmd) }
	cmd.WaitDelay = 3 * time.Second
	err = cmd.Run()
	_ = proc.Kill(cmd) // a go command it left behind
	if ctx.Err() != nil {
		return nil, fmt.Errorf("helper: %w", ctx.Err())
	}
	var resp Response
	if derr := json.Unmarshal(stdout.Bytes(), &resp); derr != nil {
		if err == nil {
			err = derr
		}
		return nil, fmt.Errorf("running the helper %s: %v%s", h.Bin, err, quote(stderr.String()))
	}
	if resp.Version != Version {
		return nil, fmt.Errorf("the helper %s speaks protocol version %d, this library %d: regenerate the bundle with this version of go-selfcompile", h.Bin, resp.Version, Version)
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	if err != nil {
		return nil, fmt.Errorf("running the helper %s: %v%s", h.Bin, err, quote(stderr.String()))
	}
	return &resp, nil
}

func quote(stderr string) string {
	s := strings.TrimSpace(stderr)
	if s == "" {
		return ""
	}
	if len(s) > stderrTail {
		s = "..." + s[len(s)-stderrTail:]
	}
	return "\n" + s
}

// Serve answers one request read from r on w: the helper's side. It
// returns an error only when it cannot write the response; failures of
// the request itself travel in Response.Error.
func Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	resp := serve(ctx, r)
	resp.Version = Version
	return json.NewEncoder(w).Encode(resp)
}

func serve(ctx context.Context, r io.Reader) Response {
	var req Request
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		return Response{Error: fmt.Sprintf("helper: reading the request: %v", err)}
	}
	if req.Version != Version {
		return Response{Error: fmt.Sprintf("helper: request of protocol version %d, this helper speaks %d: regenerate the bundle with the go-selfcompile version the host links", req.Version, Version)}
	}
	switch {
	case req.Verify != nil:
		return serveVerify(ctx, req.Verify)
	}
	return Response{Error: "helper: empty request"}
}

func serveVerify(ctx context.Context, req *VerifyRequest) Response {
	reports, err := verify.Plugins(ctx, req.Config, req.Paths)
	out := &VerifyResponse{Reports: reports}
	for _, e := range flatten(err) {
		var pe *verify.PluginError
		if !errors.As(e, &pe) {
			return Response{Error: err.Error()}
		}
		out.Refused = append(out.Refused, *pe)
	}
	return Response{Verify: out}
}

// flatten returns the errors errors.Join put together, or err alone.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
