package rebuild

import (
	"context"
	"debug/buildinfo"
	"errors"
	"os"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/vulns"
)

// audit answers an audit request: the binary job.Previous names (the
// running one) scanned against the database of GOVULNDB, every finding
// reported (none is new, none refused). A database that cannot be read,
// or GOVULNDB=off, fails it: an audit is nothing else.
func audit(ctx context.Context, job *helper.Job, w *helper.Writer) *outcome {
	db, err := vulns.ParseDB(vulns.Lookup(job.Env, os.Getenv))
	if err == nil && db.Off() {
		err = &vulns.SettingError{Msg: "GOVULNDB=off: nothing to audit against; set GOVULNDB to a file:// directory or an https URL, or unset it for " + vulns.DefaultDB}
	}
	if err != nil {
		return failed("", err)
	}
	if _, err := buildinfo.ReadFile(job.Previous); err != nil {
		return failed("", errors.New("reading the running binary's build information: "+err.Error()))
	}
	rep, err := vulns.Binary(ctx, db, job.Previous)
	if err != nil {
		return failed("", err)
	}
	out := &outcome{}
	out.Result.VulnDB = rep.DB
	for _, f := range rep.Findings {
		v := wireVuln(f, false)
		out.Result.Vulns = append(out.Result.Vulns, v)
		_ = w.Send(selfcompile.Event{Kind: selfcompile.VulnFound, Vuln: &v})
	}
	return out
}
