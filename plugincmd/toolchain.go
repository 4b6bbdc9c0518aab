package plugincmd

import (
	"fmt"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// goFlag is --go[=VERSION], Options.Toolchain: bare, the newest patch
// release of the binary's Go.
type goFlag struct{ v *string }

func (g goFlag) String() string {
	if g.v == nil {
		return ""
	}
	return *g.v
}

func (g goFlag) Set(s string) error {
	switch s {
	case "true":
		s = "patch"
	case "false":
		s = ""
	}
	*g.v = s
	return nil
}

// IsBoolFlag lets --go stand alone.
func (g goFlag) IsBoolFlag() bool { return true }

// toolchainMoves says the move to another Go that upgrade's probe found
// (--go), and fixes o.Toolchain to the release it selected, so that the
// rebuild makes the move it said; without one, o.Toolchain is cleared.
func (c *command) toolchainMoves(o *selfcompile.Options, res *selfcompile.Result) bool {
	if o.Toolchain == "" {
		return false
	}
	t := res.Toolchain
	if t == nil {
		fmt.Fprintf(c.stderr, "%s: go stays at %s: --go=%s selects no other release\n", c.name, res.GoVersion, o.Toolchain)
		o.Toolchain = ""
		return false
	}
	fmt.Fprintf(c.stderr, "%s: go %s -> %s\n", c.name, t.From, t.To)
	o.Toolchain = t.To
	return true
}
