package rebuild

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/vulns"
)

// vulnCheck is a rebuild's vulnerability check (Options.Vulns): the
// build list scanned before the build, for the new bundle's record (and
// as the whole check of a dry run, which builds nothing), and the new
// binary scanned beside smoke, for what its functions reach. A finding
// is new when the running binary (its build information) does not have
// its module at that version, or, in the standard library, the Go
// version changed.
type vulnCheck struct {
	db     vulns.DB
	policy vulns.Policy
	before vulns.Build
	// unread is set once the database could not be read: said once, the
	// later scan is not tried.
	unread bool
}

// newVulnCheck is job's check; nil when GOVULNDB is off.
func newVulnCheck(job *helper.Job) (*vulnCheck, error) {
	db, err := vulns.ParseDB(vulns.Lookup(job.Env, os.Getenv))
	if err != nil || db.Off() {
		return nil, err
	}
	c := &vulnCheck{db: db, policy: vulns.Policy(job.Vulns)}
	bi, err := buildinfo.ReadFile(job.Previous)
	if err != nil {
		bi = nil // every finding is new
	}
	c.before = vulns.BuildOf(bi)
	return c, nil
}

// unreadable is what a database that cannot be read comes to: under
// WarnVulns a warning (said once) and the rebuild goes on; under
// RefuseVulns the rebuild stops.
func (p *pipeline) unreadable(c *vulnCheck, err error) error {
	if c.policy == vulns.Refuse {
		return fmt.Errorf("%v; the Vulns option is RefuseVulns, which stops a rebuild that cannot be checked: set GOVULNDB to a database that can be read, or to off", err)
	}
	if !c.unread {
		p.warn("%v; the new binary was not checked for vulnerabilities", err)
	}
	c.unread = true
	return nil
}

// scanBuildList scans the modules plan's build uses, and the standard
// library of goVersion, for the new bundle's record; in a dry run its
// findings are the run's. A nil check records nothing.
func (p *pipeline) scanBuildList(ctx context.Context, c *vulnCheck, plan *modgen.Plan, goVersion string, got *learned) (*bundle.VulnScan, error) {
	if c == nil {
		return nil, nil
	}
	rep, err := vulns.Modules(ctx, c.db, buildModules(plan), goVersion)
	if dbe := (*vulns.DBError)(nil); errors.As(err, &dbe) {
		return &bundle.VulnScan{DB: c.db.Redacted(), Error: dbe.Msg}, p.unreadable(c, err)
	} else if err != nil {
		return nil, err
	}
	rec := &bundle.VulnScan{DB: rep.DB, Time: rep.Time}
	for _, f := range rep.Findings {
		rec.Findings = append(rec.Findings, f.ID+" "+f.Module+"@"+f.Version)
	}
	if p.job.DryRun {
		got.vulnDB = rep.DB
		got.vulns = p.noteVulns(c, rep.Findings, goVersion)
	}
	return rec, nil
}

// buildModules are the modules the build uses: those of the packages
// modgen listed, or the whole build list when it listed none.
func buildModules(plan *modgen.Plan) []vulns.Module {
	seen := map[string]bool{}
	var mods []vulns.Module
	add := func(path, version string) {
		if !seen[path] && version != "" {
			seen[path] = true
			mods = append(mods, vulns.Module{Path: path, Version: version})
		}
	}
	for _, pkg := range plan.Listed {
		if m := pkg.Module; m != nil {
			add(m.Path, m.Version)
		}
	}
	if len(mods) == 0 && plan.Graph != nil {
		for path, v := range plan.Graph.BuildList() {
			if path != plan.Graph.Main {
				add(path, v)
			}
		}
	}
	slices.SortFunc(mods, func(a, b vulns.Module) int { return strings.Compare(a.Path, b.Path) })
	return mods
}

// scanBinary scans the new binary: its modules and what functions it
// links. The findings are the run's, and the policy decides on them. A
// finding of the standard library is new when the binary's Go version,
// from its build information (whatever toolchain built it), differs
// from the running binary's.
func (p *pipeline) scanBinary(ctx context.Context, c *vulnCheck, binary string, got *learned) error {
	if c == nil || c.unread {
		return nil
	}
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		return err
	}
	goVersion := bi.GoVersion
	rep, err := vulns.Binary(ctx, c.db, binary)
	if dbe := (*vulns.DBError)(nil); errors.As(err, &dbe) {
		return p.unreadable(c, err)
	} else if err != nil {
		return err
	}
	got.vulnDB = rep.DB
	got.vulns = p.noteVulns(c, rep.Findings, goVersion)
	var introduced []bool
	for _, v := range got.vulns {
		introduced = append(introduced, v.Introduced)
	}
	return vulns.Decide(c.policy, rep.Findings, introduced)
}

// noteVulns marks each finding new or not and tells the host of each.
func (p *pipeline) noteVulns(c *vulnCheck, findings []vulns.Finding, goVersion string) []selfcompile.Vuln {
	var out []selfcompile.Vuln
	for _, f := range findings {
		v := wireVuln(f, c.before.Introduced(f, goVersion))
		out = append(out, v)
		_ = p.w.Send(selfcompile.Event{Kind: selfcompile.VulnFound, Stage: p.current(), Vuln: &v})
	}
	return out
}

func wireVuln(f vulns.Finding, introduced bool) selfcompile.Vuln {
	return selfcompile.Vuln{ID: f.ID, Module: f.Module, Version: f.Version, Fixed: f.Fixed, Summary: f.Summary, Reachable: f.Reachable, Introduced: introduced}
}
