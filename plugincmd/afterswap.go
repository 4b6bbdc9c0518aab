package plugincmd

import (
	"context"
	"fmt"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// ExitAfterSwapFailed is Main's exit code when the running executable
// was replaced but Config.AfterSwap failed: the new binary is in place,
// and what is left to do is the hand-over (a restart), not the install.
const ExitAfterSwapFailed = 3

// runRebuild is the rebuild the commands run; the tests replace it to
// see which outcomes call Config.AfterSwap.
var runRebuild = func(ctx context.Context, o selfcompile.Options) (*selfcompile.Result, error) {
	return selfcompile.New(o).Run(ctx)
}

// replaced reports whether a rebuild of o that returned res and err put a
// new binary in place of the running executable: not a dry run, not a
// binary written to Options.Output, not a request that had nothing to do.
func replaced(o selfcompile.Options, res *selfcompile.Result, err error) bool {
	return err == nil && !o.DryRun && o.Output == "" && res != nil && res.Binary != ""
}

// afterSwap runs Config.AfterSwap, if set, after the running executable
// was replaced (by a rebuild or a rollback), and reports its failure on
// one line; it returns the exit code.
func (c *command) afterSwap(ctx context.Context, res *selfcompile.Result) int {
	if c.cfg.AfterSwap == nil {
		return ExitOK
	}
	if err := c.cfg.AfterSwap(ctx, res); err != nil {
		fmt.Fprintf(c.stderr, "%s: %s is in place, but the hand-over failed: %v\n", c.name, res.Binary, err)
		return ExitAfterSwapFailed
	}
	return ExitOK
}
