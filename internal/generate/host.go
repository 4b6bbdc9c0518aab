package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// loadHost reads the go environment and the main package, refuses what
// cannot be bundled, and returns the manifest to fill, the module root and
// the platforms to bundle for.
func (g *generator) loadHost(ctx context.Context) (*bundle.Manifest, string, []platform, error) {
	envJSON, err := g.run.Run(ctx, gocmd.Invocation{Verb: "env", Args: []string{"-json", "GOROOT", "GOOS", "GOARCH", "GOHOSTOS", "GOHOSTARCH", "GOVERSION", "GOMOD", "GOMODCACHE", "GOPROXY", "GOFLAGS"}, WorkingDir: g.dir})
	if err != nil {
		return nil, "", nil, err
	}
	if err := json.Unmarshal(envJSON, &g.env); err != nil {
		return nil, "", nil, fmt.Errorf("parsing go env: %w", err)
	}
	platforms, err := g.platforms(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	if g.env.GOMOD == "" || g.env.GOMOD == os.DevNull {
		return nil, "", nil, fmt.Errorf("%s is not inside a Go module: go-selfcompile bundle needs the host's go.mod", g.dir)
	}
	main, err := g.listOne(ctx, g.dir, ".")
	if err != nil {
		return nil, "", nil, err
	}
	if main.Name != "main" {
		return nil, "", nil, fmt.Errorf("package %s in %s is package %s, not main: run go-selfcompile bundle in the host's main package directory", main.ImportPath, g.dir, main.Name)
	}
	modRoot := filepath.Dir(g.env.GOMOD)
	mainDir, err := filepath.Rel(modRoot, g.dir)
	if err != nil {
		return nil, "", nil, err
	}
	m := &bundle.Manifest{
		Format:      bundle.FormatVersion,
		GoVersion:   g.env.GOVERSION,
		GOOS:        g.env.GOOS,
		GOARCH:      g.env.GOARCH,
		MainPackage: main.ImportPath,
		MainDir:     filepath.ToSlash(mainDir),
		Parts:       map[string]bundle.Part{},
	}
	if main.Module != nil {
		m.Module = main.Module.Path
	}
	return m, modRoot, platforms, nil
}

// listOne lists the one package pattern names in dir.
func (g *generator) listOne(ctx context.Context, dir, pattern string) (*gocmd.Package, error) {
	pkgs, err := g.run.List(ctx, gocmd.Invocation{Args: []string{"-e=false", pattern}, WorkingDir: dir})
	if err != nil {
		return nil, err
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("go list %s in %s: %d packages, want 1", pattern, dir, len(pkgs))
	}
	return &pkgs[0], nil
}
