//go:build e2e

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScripts runs the cases in testdata/script that are a sequence of
// commands and expected outputs. Each script starts in $WORK/bin, which
// holds $ABINARY, a copy of the example binary of this run (built once,
// with its bundle). The rebuilds fetch plugins from the local proxy and
// share one cache ($XDG_CACHE_HOME), so that the bundled toolchain's build
// cache is warm after the first.
//
// Besides testscript's own commands, a script has
//
//	lsdir [-l] DIR   print the names in DIR, one a line (with -l, each
//	                 with its mode), to compare a directory before and
//	                 after a command
func TestScripts(t *testing.T) {
	abinary := exampleBinary(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			bin := filepath.Join(e.WorkDir, "bin", filepath.Base(abinary))
			if err := copyFile(abinary, bin); err != nil {
				return err
			}
			e.Setenv("ABINARY", bin)
			e.Setenv("GOPROXY", shared.proxyURL)
			e.Setenv("GOVULNDB", "off")
			e.Setenv("GONOSUMDB", "example.com")
			e.Setenv("XDG_CACHE_HOME", shared.cache)
			e.Cd = filepath.Dir(bin)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"lsdir": lsdir,
		},
	})
}

func lsdir(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! lsdir")
	}
	long := len(args) > 0 && args[0] == "-l"
	if long {
		args = args[1:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: lsdir [-l] DIR")
	}
	entries, err := os.ReadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, e := range entries {
		if !long {
			fmt.Fprintln(ts.Stdout(), e.Name())
			continue
		}
		fi, err := e.Info()
		ts.Check(err)
		fmt.Fprintln(ts.Stdout(), e.Name(), fi.Mode())
	}
}
