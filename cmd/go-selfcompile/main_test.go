package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rogpeppe/go-internal/goproxytest"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"go-selfcompile": func() {
			if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
				os.Stderr.WriteString("go-selfcompile: " + err.Error() + "\n")
				os.Exit(1)
			}
		},
	})
}

// TestScripts runs the CLI against the txtar scripts in testdata/script.
// The scripts run the real go command from PATH, with a module proxy that
// serves the repository's test modules, ../../testdata/mod (a script that
// must not download sets GOPROXY=off itself).
func TestScripts(t *testing.T) {
	testkit.NeedGo(t)
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	proxy := goproxytest.NewTestServer(t, "../../testdata/mod", "")
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			// Each script downloads the test modules into its own module
			// cache, so that the developer's holds no example.com modules
			// (nor stale copies of them after a fixture changes); the
			// build cache is shared, or every script would compile the
			// standard library again.
			e.Setenv("GOMODCACHE", e.WorkDir+"/modcache")
			e.Setenv("GOCACHE", string(trim(gocache)))
			e.Setenv("GOPROXY", proxy.URL)
			e.Setenv("GONOSUMDB", "example.com")
			e.Setenv("GOTOOLCHAIN", "local")
			e.Setenv("GOFLAGS", "")
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("XDG_CACHE_HOME", e.WorkDir+"/cache")
			// A host requires go-selfcompile (its stub imports it); the
			// scripts that bundle one replace it with this checkout and
			// read its dependencies from the developer's module cache.
			e.Setenv("REPO", repo)
			e.Setenv("REALMODCACHE", string(trim(modcache)))
			e.Setenv("HOSTOS", runtime.GOOS)
			e.Setenv("HOSTARCH", runtime.GOARCH)
			return nil
		},
	})
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
