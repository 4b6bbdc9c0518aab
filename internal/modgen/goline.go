package modgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/selfcompile/go-selfcompile/internal/goswitch"
)

// ErrNeedsGo: the plugin's module needs a newer Go (its go.mod's go
// line) than the rebuild builds with.
var ErrNeedsGo = errors.New("needs a newer Go")

// goLineOf is the go line of the go.mod file in dir ("" when it has
// none or cannot be read: the go command then says what is wrong).
func goLineOf(dir string) string {
	if dir == "" {
		return ""
	}
	name := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	f, err := modfile.ParseLax(name, data, nil)
	if err != nil || f.Go == nil {
		return ""
	}
	return f.Go.Version
}

// checkGoLines refuses a plugin whose module's go line is above the Go
// the rebuild builds with (req.GoVersion): the go command would refuse it
// in its own words ("requires go >= ..."), without naming the option
// that allows the move (Options.Toolchain), which this refusal names.
// Nothing switches unless asked.
func checkGoLines(req Request, added []Resolved) error {
	if req.GoVersion == "" {
		return nil
	}
	for _, a := range added {
		if !goswitch.Needs(a.GoLine, req.GoVersion) {
			continue
		}
		what := "this binary's Go is " + req.GoVersion
		if req.Toolchain != "" {
			what = fmt.Sprintf("toolchain %q selects %s", req.Toolchain, req.GoVersion)
		}
		allow := goswitch.Allow(req.Toolchain, a.GoLine, req.BundledGo)
		if allow == "" {
			return specErr(a.Spec.Raw, ErrNeedsGo, "%s@%s needs go %s (its go.mod's go line), but %s, the newest release GOPROXY lists: ask another version of the plugin", a.Module, a.Version, a.GoLine, what)
		}
		return specErr(a.Spec.Raw, ErrNeedsGo, "%s@%s needs go %s (its go.mod's go line), but %s: allow the move to a newer Go with Options.Toolchain %q (plugins add --go=%s, plugins upgrade --go=%s)", a.Module, a.Version, a.GoLine, what, allow, allow, allow)
	}
	return nil
}

// explainNeedsGo adds to a go command failure that says a module of the
// build needs a newer Go ("M@V requires go >= 1.27 (running go 1.26.8;
// GOTOOLCHAIN=local)": a dependency of a plugin, whose go line
// checkGoLines does not see) the request that would allow the move.
func explainNeedsGo(req Request, err error) error {
	if err == nil {
		return nil
	}
	line := requiredGo(err)
	if line == "" {
		return err
	}
	allow := goswitch.Allow(req.Toolchain, line, req.BundledGo)
	if allow == "" {
		return fmt.Errorf("%w: no Go release GOPROXY lists reaches go %s: ask other versions of the plugins", err, line)
	}
	return fmt.Errorf("%w: allow the move to a newer Go with Options.Toolchain %q (plugins add --go=%s, plugins upgrade --go=%s)", err, allow, allow, allow)
}

// requiredGo is the go line a go command failure says a module needs
// ("... requires go >= 1.27 (running go 1.26.8; GOTOOLCHAIN=local)"), or
// "" when it says nothing of the kind.
func requiredGo(err error) string {
	_, rest, ok := strings.Cut(err.Error(), "requires go >= ")
	line, _, ok2 := strings.Cut(rest, " (running go ")
	if !ok || !ok2 || line == "" || strings.ContainsAny(line, " \n") {
		return ""
	}
	return line
}
