// Package verify owns the two checks that stand between a plugin spec and
// a swapped binary: before the build, each plugin package is loaded and
// type-checked with golang.org/x/tools/go/packages under the build's own
// settings (Plugins); after the build, the new binary is started under the
// smoke protocol and must report every plugin (Smoke).
package verify

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/tools/go/packages"
)

// Config describes the build the plugins must fit.
type Config struct {
	// Dir is the host module directory.
	Dir string
	// Env is the complete environment of the go command (from gocmd).
	Env []string
	// GoBinDir is the directory of the bundled go binary. go/packages runs
	// "go" from the process PATH, so it is put first on PATH while loading.
	GoBinDir string
	// BuildFlags are the build's flags (-tags, -trimpath, ...), so that the
	// type-check fills the same build cache entries the build uses.
	BuildFlags []string
}

// Report is what the check found in a plugin that passed.
type Report struct {
	Path  string
	Name  string           // package name
	Inits []token.Position // func init declarations and package-level initialisers that call functions
}

// PluginError is a plugin refused by the check.
type PluginError struct {
	Plugin string
	Msg    string
}

func (e *PluginError) Error() string { return fmt.Sprintf("plugin %s: %s", e.Plugin, e.Msg) }

// pathMu serialises changes to the process PATH; see Config.GoBinDir.
var pathMu sync.Mutex

// Plugins loads and checks every package in paths.
func Plugins(ctx context.Context, cfg Config, paths []string) ([]Report, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	pcfg := &packages.Config{
		Context:    ctx,
		Mode:       packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedModule,
		Dir:        cfg.Dir,
		Env:        cfg.Env,
		BuildFlags: cfg.BuildFlags,
		Tests:      false,
	}
	pkgs, err := loadWithPath(pcfg, cfg.GoBinDir, paths)
	if err != nil {
		return nil, fmt.Errorf("loading plugins: %w", err)
	}
	byPath := map[string]*packages.Package{}
	for _, p := range pkgs {
		byPath[p.PkgPath] = p
	}
	var reports []Report
	for _, path := range paths {
		p := byPath[path]
		if p == nil {
			return nil, &PluginError{Plugin: path, Msg: "the package was not loaded: check the path"}
		}
		r, err := check(p)
		if err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// loadWithPath runs packages.Load with goBinDir first on the process PATH.
// go/packages resolves "go" with exec.LookPath on the process PATH and a
// PATH in Config.Env does not change that.
func loadWithPath(cfg *packages.Config, goBinDir string, patterns []string) ([]*packages.Package, error) {
	pathMu.Lock()
	defer pathMu.Unlock()
	if goBinDir != "" {
		old, had := os.LookupEnv("PATH")
		os.Setenv("PATH", goBinDir+string(os.PathListSeparator)+old)
		defer func() {
			if had {
				os.Setenv("PATH", old)
			} else {
				os.Unsetenv("PATH")
			}
		}()
		env := make([]string, 0, len(cfg.Env)+1)
		for _, kv := range cfg.Env {
			if !strings.HasPrefix(kv, "PATH=") {
				env = append(env, kv)
			}
		}
		cfg.Env = append(env, "PATH="+goBinDir+string(os.PathListSeparator)+old)
	}
	return packages.Load(cfg, patterns...)
}

// maxErrors is how many errors a refusal quotes.
const maxErrors = 5

func check(p *packages.Package) (Report, error) {
	if len(p.Errors) > 0 {
		var b strings.Builder
		for i, e := range p.Errors {
			if i == maxErrors {
				fmt.Fprintf(&b, "\n\t... and %d more", len(p.Errors)-maxErrors)
				break
			}
			fmt.Fprintf(&b, "\n\t%s", e)
		}
		return Report{}, &PluginError{Plugin: p.PkgPath, Msg: fmt.Sprintf("does not compile for this build (%d errors): fix the plugin or choose another version%s", len(p.Errors), b.String())}
	}
	if p.Name == "main" {
		return Report{}, &PluginError{Plugin: p.PkgPath, Msg: "is package main, a command, not a plugin: give the path of a package that registers itself in init"}
	}
	r := Report{Path: p.PkgPath, Name: p.Name}
	for _, f := range p.Syntax {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == "init" {
					r.Inits = append(r.Inits, rel(p.Fset.Position(d.Pos())))
				}
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, spec := range d.Specs {
					for _, v := range spec.(*ast.ValueSpec).Values {
						if hasCall(v) {
							r.Inits = append(r.Inits, rel(p.Fset.Position(v.Pos())))
						}
					}
				}
			}
		}
	}
	if len(r.Inits) == 0 {
		return Report{}, &PluginError{Plugin: p.PkgPath, Msg: "has no init code (no func init and no package-level variable initialised by a call), so importing it registers nothing: register the plugin from func init"}
	}
	return r, nil
}

func hasCall(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if _, ok := n.(*ast.CallExpr); ok {
			found = true
		}
		_, isFunc := n.(*ast.FuncLit)
		return !found && !isFunc
	})
	return found
}

// rel shortens a position's file name to its last two elements, which is
// what a plugin author recognises (module cache paths are long).
func rel(pos token.Position) token.Position {
	dir, file := filepath.Split(pos.Filename)
	pos.Filename = filepath.Join(filepath.Base(dir), file)
	return pos
}
