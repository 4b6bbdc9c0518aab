package rebuild

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/signature"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// request is a rebuild's job as the stages take it: the specs parsed, the
// bundle's manifest read and checked against the running binary, the
// build settings decided.
type request struct {
	specs    []modgen.Spec
	fsys     fs.FS // the bundle
	manifest *bundle.Manifest
	settings *settings
}

// prepare reads the job into a request, or refuses it, before any stage
// runs.
func (p *pipeline) prepare() (*request, error) {
	job := p.job
	specs, err := parseSpecs(job.Plugins, job.Remove, job.Toolchain)
	if err != nil {
		return nil, &orchestrator.StageError{Stage: orchestrator.Prepare, Err: err}
	}
	fsys := os.DirFS(job.Bundle)
	m, err := bundle.ReadManifest(fsys)
	if err != nil {
		return nil, &orchestrator.StageError{Stage: orchestrator.Prepare, Err: err}
	}
	if err := checkFresh(m, job.Settings); err != nil {
		return nil, &orchestrator.StageError{Stage: orchestrator.Prepare, Err: err}
	}
	s := newSettings(job, p.warn)
	// A signature made with the publisher's identity is not the linker's
	// to make: say so before the work, not after.
	if sig := signature.Lost(job.Previous); sig != "" {
		p.warn("%s", signature.Warning(sig))
	}
	return &request{specs: specs, fsys: fsys, manifest: m, settings: s}, nil
}

// checkFresh refuses to rebuild from a bundle made from other sources
// than the running binary: built after an edit without go generate, the
// binary would lose that edit in every rebuild. The binary's VCS stamp
// (settings) is compared with the tree the bundle was made from (see
// bundle.SourceStamp.Stale).
func checkFresh(m *bundle.Manifest, settings []helper.Setting) error {
	why := m.Source.StaleFrom(func(key string) string {
		for _, s := range settings {
			if s.Key == key {
				return s.Value
			}
		}
		return ""
	})
	if why != "" {
		return &staleError{why}
	}
	return nil
}

// staleError is a bundle made from other sources than the running
// binary: refused, for no rebuild of this binary can keep its changes.
type staleError struct{ why string }

func (e *staleError) Error() string {
	return fmt.Sprintf("this binary's bundle is stale (%s): its changes would be lost; build it again after go generate (go-selfcompile bundle -check tells)", e.why)
}
