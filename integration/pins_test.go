//go:build e2e

package integration

import (
	"maps"
	"path/filepath"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestOneVersionPerModule installs two plugin packages of one module
// (example.com/formats, as golang.org/x/image has its formats). A build
// holds one version of a module: installing bmp at an exact version
// moves webp, and says so; upgrade leaves the pinned bmp and webp with
// it, and says why; asking webp at another version than bmp's pin is
// refused naming both (exit 2), and asking both moves both.
func TestOneVersionPerModule(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	run(t, true, dir, env(), bin, "plugins", "add", "example.com/formats/webp")
	mustContain(t, run(t, true, "", env(), bin), "registered: [webp v1.1.0]")

	out := run(t, true, dir, env(), bin, "plugins", "add", "example.com/formats/bmp@v1.0.0")
	mustContain(t, out, "selfcompile: warning: plugin example.com/formats/webp moves from v1.1.0 to v1.0.0 with example.com/formats/bmp@v1.0.0: they share module example.com/formats, and a build holds one version of a module")
	mustContain(t, run(t, true, "", env(), bin), "registered: [bmp v1.0.0 webp v1.0.0]")

	out = run(t, true, dir, env(), bin, "plugins", "upgrade")
	mustContain(t, out,
		"plugins: left example.com/formats/bmp at v1.0.0: pinned (add example.com/formats/bmp@latest to move it)",
		"plugins: left example.com/formats/webp at v1.0.0: it shares module example.com/formats with example.com/formats/bmp, pinned (add example.com/formats/bmp@latest to move it)",
		"plugins: nothing to upgrade")
	mustNotContain(t, out, "selfcompile: build")

	before := testkit.Snapshot(t, dir)
	out, code := runCode(t, dir, env(), bin, "plugins", "add", "example.com/formats/webp@v1.1.0")
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	mustContain(t, out, `plugins: modgen: plugin "example.com/formats/webp@v1.1.0" needs example.com/formats at v1.1.0, but plugin example.com/formats/bmp is pinned at v1.0.0, and a build holds one version of a module: ask example.com/formats/webp@v1.0.0, or move both (example.com/formats/webp@v1.1.0 example.com/formats/bmp@v1.1.0)`)
	if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
		t.Errorf("a refused pin changed the directory:\nbefore %v\nafter  %v", before, after)
	}

	out = run(t, true, dir, env(), bin, "plugins", "add", "example.com/formats/webp@v1.1.0", "example.com/formats/bmp@v1.1.0")
	mustContain(t, out, "plugins: installed example.com/formats/webp v1.1.0 (was v1.0.0)", "plugins: installed example.com/formats/bmp v1.1.0 (was v1.0.0)")
	mustNotContain(t, out, "moves from")
	mustContain(t, run(t, true, "", env(), bin), "registered: [bmp v1.1.0 webp v1.1.0]")
}

// pluginsHostMain is testdata/host.txtar's main.go with the command set
// mounted (host plugins ...) in place of its install commands.
const pluginsHostMain = `// Command host is a program outside go-selfcompile's module.
package main

//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle

import (
	"context"
	"fmt"
	"os"
	"strings"

	"example.com/host/registry"
	"example.com/hostdep"
	"example.com/shared"
	"github.com/selfcompile/go-selfcompile/plugincmd"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "plugins" {
		os.Exit(plugincmd.Main(context.Background(), os.Args[2:], plugincmd.Config{}))
	}
	fmt.Printf("host running with shared %s and [%s]\n", shared.Version, strings.Join(registry.Names(), " "))
	fmt.Printf("hostdep %s\n", hostdep.Version)
}
`

// TestBareSpecFollowsTheBuildList: a package of a module the host builds
// with (example.com/hostdep, at v1.0.0 though the proxy has v1.1.0),
// installed with no version, is recorded as the build list's version:
// plugins list says so, and plugins upgrade leaves it, says why, and
// rebuilds nothing.
func TestBareSpecFollowsTheBuildList(t *testing.T) {
	bin := buildHostWith(t, hostBuild{files: map[string][]byte{"main.go": []byte(pluginsHostMain)}})
	dir := filepath.Dir(bin)
	run(t, true, dir, env(), bin, "plugins", "add", "example.com/hostdep/plugin")
	mustContain(t, run(t, true, "", env(), bin), "[hostdep plugin v1.0.0]", "hostdep v1.0.0")

	mustContain(t, run(t, true, dir, env(), bin, "plugins", "list"),
		"example.com/hostdep/plugin v1.0.0 (the build's version of example.com/hostdep)\n")

	before := testkit.Snapshot(t, dir)
	for _, args := range [][]string{{"upgrade"}, {"upgrade", "example.com/hostdep/plugin"}} {
		out := run(t, true, dir, env(), bin, append([]string{"plugins"}, args...)...)
		mustContain(t, out,
			"plugins: example.com/hostdep/plugin stays at v1.0.0, the build's version of example.com/hostdep: it moves only with that module\n",
			"plugins: nothing to upgrade\n")
		mustNotContain(t, out, "v1.1.0", "selfcompile: build")
		if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
			t.Errorf("plugins %v changed the directory:\nbefore %v\nafter  %v", args, before, after)
		}
	}
	mustContain(t, run(t, true, "", env(), bin), "[hostdep plugin v1.0.0]", "hostdep v1.0.0")
}
