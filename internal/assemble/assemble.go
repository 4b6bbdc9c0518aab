// Package assemble decides what a bundle keeps of the host's build, for
// the generator (internal/generate) and for the bundle a rebuild gives
// the new binary (internal/build) alike: from the packages the build uses
// on each platform the bundle keeps packages for, as go list prints them,
// which files of the module cache the modules part carries (trimmed by
// package modtrim), which modules it holds only in part, and which
// standard packages the build uses. [Modules.Record] writes that into the
// manifest (Trimmed, TrimPlatforms, StdPackages).
package assemble

import (
	"context"
	"slices"
	"strings"

	"golang.org/x/mod/module"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modtrim"
)

// Input is what [Assemble] decides from.
type Input struct {
	// ModCache is the module cache (GOMODCACHE) the modules part is made
	// of, and Entries the files of it that may go into the part
	// (bundle.ModuleEntries, less any the caller leaves out).
	ModCache string
	Entries  []bundle.Entry
	// Platforms are the platforms ("GOOS/GOARCH") the build was listed
	// for, and Listed every package those listings printed (with
	// gocmd.ListJSON), on any of them.
	Platforms []string
	Listed    []gocmd.Package
	// Whole keeps the modules as Entries has them, not trimmed to Listed:
	// a platform's packages could not be listed, and a module trimmed to
	// the others' could lack some.
	Whole bool
	// Held are the modules ("path@version") the module cache itself holds
	// only in part (unpacked from a trimmed modules part, not completed
	// since); nil for a module cache the go command filled.
	Held []string
}

// Modules is what a bundle's modules part keeps, and what its manifest
// records of it.
type Modules struct {
	// Entries are the module cache's files the part carries.
	Entries []bundle.Entry
	// Trim is what trimming kept and left out; nil with Input.Whole.
	Trim *modtrim.Result
	// Trimmed are the modules ("path@version") the part holds only in
	// part, sorted: those trimming left files out of, and those held in
	// part already of which the part carries any file.
	Trimmed []string
	// Platforms are Input.Platforms.
	Platforms []string
	// Std are the standard packages among Input.Listed (see
	// gocmd.Package.IsStandard), sorted.
	Std []string
}

// Assemble decides what the modules part of a bundle keeps (see the
// package doc).
func Assemble(in Input) (*Modules, error) {
	mods := &Modules{Entries: in.Entries, Platforms: in.Platforms, Std: standard(in.Listed)}
	var trimmedNow []string
	if !in.Whole {
		pkgs := make([]modtrim.Package, len(in.Listed))
		for i, p := range in.Listed {
			pkgs[i] = modtrim.Package{ImportPath: p.ImportPath, Dir: p.Dir, EmbedFiles: p.EmbedFiles, Cgo: p.UsesCgo()}
		}
		trim, err := modtrim.Trim(in.ModCache, in.Entries, pkgs)
		if err != nil {
			return nil, err
		}
		mods.Entries, mods.Trim, trimmedNow = trim.Entries, trim, trim.Trimmed
	}
	var err error
	mods.Trimmed, err = stillTrimmed(mods.Entries, trimmedNow, in.Held)
	return mods, err
}

// Record writes into m what its manifest records of the modules part.
func (mods *Modules) Record(m *bundle.Manifest) {
	m.Trimmed, m.TrimPlatforms, m.StdPackages = mods.Trimmed, mods.Platforms, mods.Std
}

// standard returns the standard packages among listed, sorted. A package
// listed with an error (go list -e) is left out: an import path that no
// module provides is listed with no module too, and is no standard
// package; a standard package that does not load on a platform is none a
// rebuild could compile ahead.
func standard(listed []gocmd.Package) []string {
	var std []string
	for _, p := range listed {
		if p.IsStandard() {
			std = append(std, p.ImportPath)
		}
	}
	slices.Sort(std)
	return slices.Compact(std)
}

// stillTrimmed returns the modules entries hold in part: those trimming
// left files out of now, and those of held (the module cache holds them
// in part) of which entries has any file, as trimming, which sees only
// what is there, finds nothing more to leave out of them.
func stillTrimmed(entries []bundle.Entry, now, held []string) ([]string, error) {
	present := map[string]bool{}
	for _, e := range entries {
		if k := modtrim.ModuleKey(e.Name); k != "" {
			present[k] = true
		}
	}
	out := slices.Clone(now)
	for _, mv := range held {
		m, v, _ := strings.Cut(mv, "@")
		k, err := modtrim.Key(module.Version{Path: m, Version: v})
		if err != nil {
			return nil, err
		}
		if present[k] && !slices.Contains(out, mv) {
			out = append(out, mv)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ListOn lists the packages a build uses on platform ("GOOS/GOARCH"),
// another than the one the go command runs for, with go list -e -deps
// and inv's flags, patterns, environment and directory, with cgo off (as
// the go command has it when it builds for another platform): a package
// that does not build there is not the bundle's concern.
func ListOn(ctx context.Context, r *gocmd.Runner, platform string, inv gocmd.Invocation) ([]gocmd.Package, error) {
	goos, goarch, _ := strings.Cut(platform, "/")
	inv.Args = append([]string{"-e", "-deps"}, inv.Args...)
	inv.Env = append(slices.Clone(inv.Env), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	return r.List(ctx, inv)
}
