package gocmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Package is a package as go list -json prints it, with the fields that
// [ListJSON] asks for.
type Package struct {
	ImportPath string
	Name       string
	Dir        string
	// GoFiles are the Go files the build compiles but those that import
	// "C" (CgoFiles), and EmbedFiles the files it embeds; all relative to
	// Dir.
	GoFiles    []string
	EmbedFiles []string
	// CgoFiles and SwigFiles are the files compiled with cgo.
	CgoFiles, SwigFiles []string
	// Module is the module that provides the package; nil for a standard
	// package, and for an import path no module provides.
	Module *PackageModule
	// Error is set when the package could not be loaded (go list -e).
	Error *PackageError
}

// PackageModule is the module of a listed [Package].
type PackageModule struct{ Path, Version string }

// PackageError is what the go command says of a package it could not
// load.
type PackageError struct{ Err string }

// ListJSON is the go list flag that prints the fields of [Package]: every
// listing that decodes packages asks for these, so that one type reads
// them all.
const ListJSON = "-json=ImportPath,Name,Dir,GoFiles,EmbedFiles,CgoFiles,SwigFiles,Module,Error"

// UsesCgo reports whether the build compiles p with cgo.
func (p Package) UsesCgo() bool { return len(p.CgoFiles)+len(p.SwigFiles) > 0 }

// IsStandard reports whether p is a standard-library package that loaded:
// no module provides it, and it has no error. An import path that no
// module provides (listed with -e) has no module either, and an error.
func (p Package) IsStandard() bool { return p.Module == nil && p.Error == nil }

// List runs go list with [ListJSON] and inv.Args (its flags and
// patterns; inv.Verb is "list") and decodes the packages it prints.
func (r *Runner) List(ctx context.Context, inv Invocation) ([]Package, error) {
	inv.Verb = "list"
	inv.Args = append([]string{ListJSON}, inv.Args...)
	out, err := r.Run(ctx, inv)
	if err != nil {
		return nil, err
	}
	return DecodePackages(out)
}

// DecodePackages decodes the output of go list with [ListJSON].
func DecodePackages(out []byte) ([]Package, error) {
	var pkgs []Package
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p Package
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("parsing go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// Download is what go mod download -json prints of one module.
type Download struct {
	Path, Version string
	// Error is the go command's own words when the download failed.
	Error string
	// Info, GoMod, Zip and Dir are the files of the module in the module
	// cache; Sum and GoModSum its checksums ("h1:...").
	Info, GoMod, Zip, Dir string
	Sum, GoModSum         string
}

// DownloadError is a module the go command could not download, in its
// own words (go mod download -json says why on stdout, not stderr). It
// unwraps to the *Error of the run.
type DownloadError struct {
	Module string // "path@version"
	Reason string
	Err    error
}

func (e *DownloadError) Error() string { return e.Reason }

func (e *DownloadError) Unwrap() error { return e.Err }

// Download runs go mod download -json for mod ("path@version"), with
// inv's environment and directory, and returns what it printed. When the
// go command says why it failed, the error is a *DownloadError.
func (r *Runner) Download(ctx context.Context, inv Invocation, mod string) (*Download, error) {
	var stdout bytes.Buffer
	inv.Verb = "mod"
	inv.Args = []string{"download", "-json", mod}
	inv.Stdout = &stdout
	_, err := r.Run(ctx, inv)
	var dl Download
	jerr := json.Unmarshal(stdout.Bytes(), &dl)
	switch {
	case jerr == nil && dl.Error != "":
		return nil, &DownloadError{Module: mod, Reason: dl.Error, Err: err}
	case err != nil:
		return nil, err
	case jerr != nil:
		return nil, fmt.Errorf("parsing the output of go mod download -json %s: %w", mod, jerr)
	}
	return &dl, nil
}

// CopyModFile writes a private copy of the go.mod in dir to modFile, and
// of the go.sum beside it, when there is one, to the go.sum the go
// command pairs with modFile (its name with .sum for .mod). A go command
// run with -modfile=modFile reads and writes the copies: the module's own
// files stay as they are, whatever the command or another process does
// meanwhile. A missing go.mod is an error (fs.ErrNotExist).
func CopyModFile(dir, modFile string) error {
	for _, f := range []struct{ from, to string }{
		{"go.mod", modFile},
		{"go.sum", strings.TrimSuffix(modFile, ".mod") + ".sum"},
	} {
		data, err := os.ReadFile(filepath.Join(dir, f.from))
		if f.from == "go.sum" && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.to, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
