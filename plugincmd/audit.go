package plugincmd

import (
	"context"
	"fmt"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// ExitVulns is Main's exit code for "audit" when the binary links a
// vulnerable function, as govulncheck's: a finding of a module alone
// (its vulnerable functions not linked) is reported and exits 0.
const ExitVulns = 3

// audit checks the running binary against the vulnerability database
// (GOVULNDB) and reports each finding: on stdout, one line each (or,
// with --json, a JSON line each then the result); nothing is built or
// changed.
func (c *command) audit(ctx context.Context, o selfcompile.Options) int {
	o.OnEvent = nil
	if c.json {
		enc := c.encoder()
		o.OnEvent = func(e selfcompile.Event) { _ = enc.Encode(map[string]any{"event": e}) }
	}
	res, err := selfcompile.Audit(ctx, o)
	if c.json {
		out := map[string]any{"result": res}
		if err != nil {
			out["error"] = err.Error()
		}
		_ = c.encoder().Encode(out)
	}
	if err != nil {
		return c.fail(err)
	}
	reachable := 0
	for _, v := range res.Vulns {
		if !c.json {
			fmt.Fprintln(c.stdout, v.String())
		}
		if v.Reachable {
			reachable++
		}
	}
	if !c.json {
		fmt.Fprintf(c.stderr, "%s: %d %s known in %s (%d reachable)\n", c.name, len(res.Vulns), plural(len(res.Vulns), "vulnerability", "vulnerabilities"), res.VulnDB, reachable)
	}
	if reachable > 0 {
		return ExitVulns
	}
	return ExitOK
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
