package rebuild

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/tcache"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// tools is the request with the toolchain that builds it.
type tools struct {
	*request
	goroot string
	// switched, when set, is the toolchain Job.Toolchain moved to, at
	// goroot.
	switched *switched
}

// toolchain is the toolchain stage: the bundled toolchain extracted into
// the cache once and checked, or the one the host fetched (a slim
// bundle) checked; then the one Job.Toolchain asks, fetched and
// installed (switchToolchain).
func (p *pipeline) toolchain(ctx context.Context, req *request) (*tools, error) {
	return orchestrator.Do(ctx, p.orch, orchestrator.Toolchain, func(ctx context.Context) (*tools, error) {
		goroot, err := p.installToolchain(req)
		if err != nil {
			return nil, err
		}
		tc := &tools{request: req, goroot: goroot}
		if tc.switched, err = p.switchToolchain(ctx, req, goroot); err != nil || tc.switched == nil {
			return tc, err
		}
		tc.goroot = tc.switched.goroot
		return tc, nil
	})
}

func (p *pipeline) installToolchain(req *request) (string, error) {
	job, m, fsys := p.job, req.manifest, req.fsys
	if m.Slim != nil {
		// The host fetched it (package slim); check it is still the
		// one it installed.
		goroot, ok := tcache.Installed(job.Cache, m.Slim.ToolchainSum)
		if !ok || goroot != job.GOROOT {
			return "", fmt.Errorf("the fetched toolchain %s is not in the cache as it was installed: run again to fetch it anew", job.GOROOT)
		}
		return goroot, nil
	}
	goroot, repaired, err := toolchain.Install(opener(fsys, bundle.ToolchainFile), m.Parts[bundle.ToolchainFile], job.Cache)
	if repaired != "" {
		p.warn("%s", repaired)
	}
	if err != nil {
		return "", err
	}
	toolchain.Prune(job.Cache, goroot, time.Now().Add(-toolchain.StaleAfter))
	// Compiled standard packages the bundle carries (bundle -prewarm).
	if _, err := build.Prewarm(fsys, m, filepath.Join(job.Cache, "gocache")); err != nil {
		p.warn("the standard packages will be compiled: the bundle's compiled ones could not be added to the build cache: %v", err)
	}
	return goroot, nil
}

func opener(fsys fs.FS, name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return fsys.Open(name) }
}
