package build

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
)

func TestSwitchApply(t *testing.T) {
	move := bundle.ToolchainMove{From: "go1.26.8", To: "go1.26.9", Module: "v0.0.1-go1.26.9.linux-amd64", Sum: "h1:new="}

	slim := &bundle.Manifest{GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Slim: &bundle.Slim{Toolchain: "v0.0.1-go1.26.8.linux-amd64", ToolchainSum: "h1:old="}, Rebuild: &bundle.Rebuild{}}
	if err := (&Switch{Move: move}).apply(slim, map[string]archive.Source{}); err != nil {
		t.Fatal(err)
	}
	if slim.GoVersion != "go1.26.9" || *slim.Slim != (bundle.Slim{Toolchain: move.Module, ToolchainSum: move.Sum}) || *slim.Switched != move || *slim.Rebuild.Toolchain != move {
		t.Errorf("slim manifest after the switch: %+v, slim %+v", slim, slim.Slim)
	}

	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no go command to find a GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	full := &bundle.Manifest{GoVersion: "go1.26.8", GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	parts := map[string]archive.Source{bundle.ToolchainFile: {}, bundle.StdCacheFile: {}, bundle.HelperFile: {}}
	if err := (&Switch{Move: move, GOROOT: goroot}).apply(full, parts); err != nil {
		t.Fatal(err)
	}
	if _, ok := parts[bundle.StdCacheFile]; ok {
		t.Error("the old toolchain's compiled standard packages were kept")
	}
	tc := parts[bundle.ToolchainFile]
	var hasGo, hasCmd bool
	for _, e := range tc.Entries {
		hasGo = hasGo || strings.HasPrefix(e.Name, "go/bin/go")
		hasCmd = hasCmd || strings.HasPrefix(e.Name, "go/src/cmd/")
	}
	if !hasGo || hasCmd || tc.Window != archive.LongWindow || full.GoVersion != "go1.26.9" || full.Slim != nil {
		t.Errorf("new toolchain part: %d entries (go command %v, src/cmd %v), window %d; manifest go %s", len(tc.Entries), hasGo, hasCmd, tc.Window, full.GoVersion)
	}
}
