package selfcompile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/safedir"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
)

// Audit checks the running binary, as it is, against the vulnerability
// database that GOVULNDB names (in opts.Env, else the process
// environment; see VulnPolicy): the Result's Vulns are every finding,
// each also a VulnFound event to opts.OnEvent and a line on
// opts.Progress, and VulnDB the database. None is refused and none is
// Introduced. It builds and replaces nothing; the scan runs in the
// bundled helper, in a work directory under opts.CacheDir (or
// opts.WorkDir) removed when it returns. Of opts it reads Env, CacheDir,
// WorkDir, Progress and OnEvent. A database that cannot be read, or
// GOVULNDB=off, is an error.
func Audit(ctx context.Context, opts Options) (*Result, error) {
	res := &Result{}
	if err := sameIDs(); err != nil {
		return res, err
	}
	j := &job{}
	var err error
	if j.fsys, j.info, err = registeredBundle(); err != nil {
		return res, err
	}
	if j.cache, err = cacheDir(opts.CacheDir); err != nil {
		return res, err
	}
	parent := opts.WorkDir
	if parent == "" {
		parent = filepath.Join(j.cache, "work")
	}
	if parent, err = safedir.MkdirAll(parent); err != nil {
		return res, fmt.Errorf("the work directory: %w", err)
	}
	// A directory of its own: a rebuild of this program may hold the
	// program's.
	if j.work, err = os.MkdirTemp(parent, "audit-*"); err != nil {
		return res, err
	}
	defer func() { _ = srctree.RemoveAll(j.work) }()
	j.modCache = filepath.Join(j.work, "mod")
	if j.info.Slim != nil {
		err = j.fetch(ctx, opts)
	} else {
		err = j.unpackHelper()
	}
	if err != nil {
		return res, err
	}
	req := helper.Job{Env: opts.Env, Previous: previous(), Work: j.work, Cache: j.cache}
	out, err := helper.Call[Event, outcome](ctx, j.helper, helper.Request{Audit: &req}, func(e *Event) {
		if opts.OnEvent != nil {
			opts.OnEvent(*e)
		}
		if e.Kind == VulnFound && e.Vuln != nil && opts.Progress != nil {
			fmt.Fprintln(opts.Progress, "selfcompile: vulnerability: "+e.Vuln.String())
		}
	})
	if err != nil {
		return res, err
	}
	if out.Err != nil {
		return res, out.Err
	}
	return &out.Result, nil
}
