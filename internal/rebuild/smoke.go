package rebuild

import (
	"context"
	"os"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/smoke"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// smoke is the smoke stage: the new binary run until its plugins' init
// code has run, and what it reports checked. The report is returned also
// when the check failed.
//
// No go command of this helper runs from here on (the build ended, the
// warm-ups were stopped and waited for): smoke.Check, in this child
// subreaper, kills every child the helper gains meanwhile as an orphan of
// the new binary.
//
// The vulnerability check vc scans the new binary meanwhile (no go
// command: it reads the file), into got; a finding the policy refuses
// fails the stage, once the smoke check has ended.
func (p *pipeline) smoke(ctx context.Context, req *request, plan *modgen.Plan, built *build.Output, vc *vulnCheck, got *learned) (*smoke.Report, error) {
	return orchestrator.Do(ctx, p.orch, orchestrator.Smoke, func(ctx context.Context) (*smoke.Report, error) {
		scanned := make(chan error, 1)
		go func() { scanned <- p.scanBinary(ctx, vc, built.Binary, got) }()
		rep, err := smoke.Check(ctx, built.Binary, smokeConfig(p.job, req.manifest.Plugins, built.Manifest.Plugins, plan))
		if serr := <-scanned; err == nil {
			err = serr
		}
		return rep, err
	})
}

// smokeConfig is what the new binary must report: every plugin of the new
// set, and, when the host reports registrations, one more registration
// for each plugin new to the binary (a re-pinned one registered before).
func smokeConfig(job *helper.Job, installed, want []bundle.Plugin, plan *modgen.Plan) smoke.Config {
	cfg := smoke.Config{Env: smokeEnv(), Timeout: job.SmokeTimeout, Want: want, Args: job.SmokeArgs}
	if job.ReportsRegistrations {
		cfg.Before = append([]string{}, job.Registrations...)
		for _, a := range plan.Added {
			if indexPlugin(installed, a.Path) < 0 {
				cfg.Added = append(cfg.Added, a.Path)
			}
		}
	}
	return cfg
}

// smokeEnv is the clean environment the new binary starts in.
func smokeEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
