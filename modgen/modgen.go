package modgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// Resolved is a spec resolved to the module that provides its package.
type Resolved struct {
	Spec    Spec
	Path    string // package import path
	Module  string // module path; the host module for its own packages
	Version string // resolved version; empty for a package of the host module
}

// Resolver resolves specs with the go command, in the host module.
type Resolver struct {
	Go *gocmd.Runner
	// ModDir is the directory holding the host's go.mod.
	ModDir string
	// HostModule is the host's module path.
	HostModule string
}

type listedModule struct {
	Path     string
	Version  string
	Versions []string
	Error    *struct{ Err string }
}

// Resolve finds the module providing s.Path and the version s asks for.
// Like the go command, it tries the longest module path first.
func (r *Resolver) Resolve(ctx context.Context, s Spec) (Resolved, error) {
	if s.Kind == LocalDir {
		return Resolved{}, &SpecError{Spec: s.Raw, Msg: "local directory plugins are not supported yet: publish the plugin to a module proxy and give its path"}
	}
	if s.Path == r.HostModule || strings.HasPrefix(s.Path, r.HostModule+"/") {
		return r.resolveHostPackage(s)
	}
	var firstErr error
	for cand := s.Path; ; cand = path.Dir(cand) {
		v, err := r.query(ctx, cand, s)
		if err == nil {
			return Resolved{Spec: s, Path: s.Path, Module: cand, Version: v}, nil
		}
		var se *SpecError
		if errors.As(err, &se) {
			return Resolved{}, err
		}
		if firstErr == nil {
			firstErr = err
		}
		if !strings.Contains(cand, "/") {
			break
		}
	}
	return Resolved{}, &SpecError{Spec: s.Raw, Msg: fmt.Sprintf("no module provides %s at %s: check the path and version (%v)", s.Path, s.Query, oneLine(firstErr))}
}

func (r *Resolver) resolveHostPackage(s Spec) (Resolved, error) {
	if s.Kind != Latest {
		return Resolved{}, &SpecError{Spec: s.Raw, Msg: fmt.Sprintf("package %s is part of the host module %s, which is always built at its bundled version: drop %q", s.Path, r.HostModule, "@"+s.Query)}
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(s.Path, r.HostModule), "/")
	if fi, err := os.Stat(filepath.Join(r.ModDir, filepath.FromSlash(rel))); err != nil || !fi.IsDir() {
		return Resolved{}, &SpecError{Spec: s.Raw, Msg: fmt.Sprintf("package %s is not in the bundled source of the host module %s: check the path", s.Path, r.HostModule)}
	}
	return Resolved{Spec: s, Path: s.Path, Module: r.HostModule}, nil
}

// query resolves s's query against module mod.
func (r *Resolver) query(ctx context.Context, mod string, s Spec) (string, error) {
	if s.Kind == Constraint {
		m, err := r.listModule(ctx, "-versions", mod)
		if err != nil {
			return "", err
		}
		best := ""
		for _, v := range m.Versions {
			if s.Allows(v) && (best == "" || semver.Compare(v, best) > 0) {
				best = v
			}
		}
		if best == "" {
			if len(m.Versions) == 0 {
				return "", fmt.Errorf("module %s has no tagged versions", mod)
			}
			return "", &SpecError{Spec: s.Raw, Msg: fmt.Sprintf("no version of %s satisfies %s (available: %s)", mod, s.Query, strings.Join(m.Versions, ", "))}
		}
		return best, nil
	}
	m, err := r.listModule(ctx, mod+"@"+s.Query)
	if err != nil {
		return "", err
	}
	return m.Version, nil
}

func (r *Resolver) listModule(ctx context.Context, args ...string) (*listedModule, error) {
	out, err := r.Go.Run(ctx, gocmd.Invocation{Verb: "list", Args: append([]string{"-m", "-json"}, args...), WorkingDir: r.ModDir})
	if err != nil {
		return nil, err
	}
	var m listedModule
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("parsing go list -m output: %w", err)
	}
	if m.Error != nil {
		return nil, errors.New(m.Error.Err)
	}
	return &m, nil
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	var ge *gocmd.Error
	msg := err.Error()
	if errors.As(err, &ge) && ge.Stderr != "" {
		msg = ge.Stderr
	}
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	return strings.TrimPrefix(lines[len(lines)-1], "go: ")
}

// Apply adds a requirement for every resolved plugin module to the go.mod
// in modDir, replacing any existing requirement on the same module, and
// writes it back.
func Apply(modDir string, plugins []Resolved) error {
	name := filepath.Join(modDir, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return err
	}
	host := f.Module.Mod.Path
	for _, p := range plugins {
		if p.Module == host {
			continue
		}
		if err := f.DropRequire(p.Module); err != nil {
			return err
		}
		f.AddNewRequire(p.Module, p.Version, false)
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return err
	}
	return os.WriteFile(name, out, 0o644)
}
