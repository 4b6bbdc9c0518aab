package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/toolchain"
	"github.com/selfcompile/go-selfcompile/verify"
)

// verifyRequest asks a copy of the helper for verify.Plugins(ctx, Config,
// Paths). Config.Env is not sent: that helper's environment is the go
// command's.
type verifyRequest struct {
	Config verify.Config `json:"config"`
	Paths  []string      `json:"paths"`
}

// verifyResponse is what verify.Plugins returned: the reports of the
// plugins that passed and the refusals of the others.
type verifyResponse struct {
	Reports []verify.Report      `json:"reports"`
	Refused []verify.PluginError `json:"refused,omitempty"`
}

// verifyPlugins runs verify.Plugins in a copy of this helper started with
// the bundled go first on its PATH: go/packages runs the go command found
// on the process's PATH, and even a helper does not change its own
// environment while it runs. Refusals come back as the *verify.PluginError
// values (joined) that verify.Plugins returns.
func verifyPlugins(ctx context.Context, goroot string, goRun *gocmd.Runner, cfg verify.Config, paths []string) ([]verify.Report, error) {
	if len(paths) == 0 {
		return nil, nil // nothing to check: no process to start
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the helper to type-check in: %w", err)
	}
	env := goRun.Environ()
	path := filepath.Dir(toolchain.GoBin(goroot))
	if p, _ := gocmd.Lookup(env, "PATH"); p != "" {
		path += string(os.PathListSeparator) + p
	}
	cfg.Env = nil
	raw, err := json.Marshal(verifyRequest{Config: cfg, Paths: paths})
	if err != nil {
		return nil, err
	}
	h := helper.Helper{Bin: exe, Env: gocmd.Set(env, "PATH", path), Dir: cfg.Dir}
	done, err := h.Call(ctx, helper.Request{Verify: raw}, nil)
	if err != nil {
		return nil, err
	}
	if done.Err != nil {
		return nil, done.Err
	}
	var resp verifyResponse
	if err := json.Unmarshal(done.Verify, &resp); err != nil {
		return nil, fmt.Errorf("reading the type-check's answer: %w", err)
	}
	var errs []error
	for i := range resp.Refused {
		errs = append(errs, &resp.Refused[i])
	}
	if len(errs) == 1 {
		return resp.Reports, errs[0]
	}
	return resp.Reports, errors.Join(errs...)
}

// serveVerify answers a verify request, in the copy of the helper.
func serveVerify(ctx context.Context, raw json.RawMessage) *helper.Outcome {
	var req verifyRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return failed("verify", fmt.Errorf("helper: reading the verify request: %w", err))
	}
	reports, err := verify.Plugins(ctx, req.Config, req.Paths)
	resp := verifyResponse{Reports: reports}
	for _, e := range flatten(err) {
		var pe *verify.PluginError
		if !errors.As(e, &pe) {
			return failed("verify", err)
		}
		resp.Refused = append(resp.Refused, *pe)
	}
	data, err := json.Marshal(resp)
	if err != nil {
		return failed("verify", err)
	}
	return &helper.Outcome{Verify: data}
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

// wireChecks turns the verify stage's reports into the protocol's.
func wireChecks(reports []verify.Report) []helper.Check {
	var out []helper.Check
	for _, r := range reports {
		c := helper.Check{Path: r.Path, Name: r.Name, Module: r.Module, Version: r.Version}
		for _, p := range r.Inits {
			c.Inits = append(c.Inits, p.String())
		}
		for _, p := range r.VarInits {
			c.VarInits = append(c.VarInits, p.String())
		}
		for _, reg := range r.Registrations {
			c.Registrations = append(c.Registrations, helper.Registration{Func: reg.Func, Pos: reg.Pos.String()})
		}
		out = append(out, c)
	}
	return out
}
