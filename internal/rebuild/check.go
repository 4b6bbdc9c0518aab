package rebuild

import (
	"errors"
	"os"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/goswitch"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/verify"
	"github.com/selfcompile/go-selfcompile/internal/vulns"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// check decides what the job alone decides, before anything is unpacked:
// a malformed spec and removing a plugin that is not installed are
// refused; asking only for what is already installed is nothing to do.
func check(job *helper.Job) *outcome {
	specs, err := parseSpecs(job.Plugins, job.Remove, job.Toolchain)
	if err == nil {
		err = modgen.CheckAllowed(specs, job.Allow)
	}
	if err == nil {
		err = verify.CheckSettings(job.RegisterFuncs, job.Constructors)
	}
	if err == nil {
		_, err = vulns.ParseDB(vulns.Lookup(job.Env, os.Getenv))
	}
	if err == nil {
		err = checkStore(job)
	}
	if err != nil {
		return failed(orchestrator.Prepare, err)
	}
	noop, err := alreadySo(specs, job.Remove, job.Installed)
	if err != nil {
		return failed(orchestrator.Prepare, err)
	}
	if job.Toolchain != "" {
		// Which release it selects, and so whether the Go moves, is
		// the toolchain stage's to ask.
		noop = ""
	}
	return &outcome{NothingToDo: noop}
}

// parseSpecs refuses a malformed spec, and a request for nothing: no
// plugin to add or remove and no toolchain to move to.
func parseSpecs(plugins, remove []string, toolchain string) ([]modgen.Spec, error) {
	var specs []modgen.Spec
	for _, raw := range plugins {
		s, err := modgen.ParseSpec(raw)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	if err := goswitch.Check(toolchain); err != nil {
		return nil, err
	}
	if len(specs) == 0 && len(remove) == 0 && toolchain == "" {
		return nil, errors.New("nothing to do: give Options.Plugins to add or Options.Remove to drop")
	}
	return specs, nil
}

// alreadySo decides what the installed set alone decides: removing a
// plugin that is not installed is refused, and asking only for plugins
// already installed at the versions asked, or with no version at all, is
// nothing to do (it returns why).
func alreadySo(specs []modgen.Spec, remove []string, installed []bundle.Plugin) (string, error) {
	if _, err := modgen.NewSet(installed, nil, remove); err != nil {
		return "", err
	}
	if len(remove) > 0 {
		return "", nil
	}
	var have []string
	for _, s := range specs {
		i := indexPlugin(installed, s.Path)
		if i < 0 || installed[i].Dir != "" {
			return "", nil
		}
		// A bare spec keeps a module of the build list where it is, and
		// an installed plugin's module is in it.
		if !s.Bare && (s.Kind != modgen.Exact || installed[i].Version != s.Query) {
			return "", nil
		}
		have = append(have, s.Path+"@"+installed[i].Version)
	}
	return "nothing to do: " + strings.Join(have, ", ") + " already installed", nil
}

func indexPlugin(ps []bundle.Plugin, path string) int {
	for i, p := range ps {
		if p.Path == path {
			return i
		}
	}
	return -1
}
