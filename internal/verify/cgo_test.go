package verify

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// cgoArchive holds plugins that need cgo, directly or through a package
// of their module, and one whose only cgo file is for another platform.
const cgoArchive = `
-- go.mod --
module example.com/p

go 1.22
-- cgodirect/plugin.go --
package cgodirect

// int answer(void) { return 42; }
import "C"

func init() { _ = C.answer() }
-- cgodep/plugin.go --
package cgodep

import "example.com/p/cgodep/internal/native"

func init() { native.Load() }
-- cgodep/internal/native/native.go --
package native

func Load() {}
-- cgodep/internal/native/native_cgo.go --
package native

import "C"
-- otheros/plugin.go --
package otheros

func init() { println("otheros") }
-- otheros/native_plan9.go --
package otheros

import "C"
`

func cgoRefusals(t *testing.T, extra ...string) (map[string]*PluginError, []Report) {
	t.Helper()
	testkit.NeedGo(t)
	dir := t.TempDir()
	testkit.WriteTxtar(t, dir, cgoArchive)
	paths := []string{"example.com/p/cgodirect", "example.com/p/cgodep", "example.com/p/otheros"}
	reports, err := Plugins(context.Background(), Config{Dir: dir, Env: testkit.GoEnv(extra...)}, paths)
	return refusals(t, err), reports
}

// TestPluginsCgoDisabled checks that with CGO_ENABLED=0 a plugin with a
// cgo file for the target, or importing a package of its module that has
// one, is refused with the file's position, and that a cgo file for
// another platform is not held against a plugin.
func TestPluginsCgoDisabled(t *testing.T) {
	refused, reports := cgoRefusals(t, "CGO_ENABLED=0")
	checkRefused(t, pluginCase{want: NeedsCgo, pos: "cgodirect/plugin.go:4:8", msg: []string{
		`plugin example.com/p/cgodirect needs cgo (import "C" at cgodirect/plugin.go:4:8) but the host is built with CGO_ENABLED=0. Build the host with CGO_ENABLED=1`,
	}}, refused["example.com/p/cgodirect"])
	checkRefused(t, pluginCase{want: NeedsCgo, msg: []string{
		`needs cgo (import "C" at native/native_cgo.go:3:8, in package example.com/p/cgodep/internal/native that it imports)`,
	}}, refused["example.com/p/cgodep"])
	if len(reports) != 1 || reports[0].Path != "example.com/p/otheros" {
		t.Errorf("reports %+v, want otheros to pass", reports)
	}
}

// TestPluginsNoCCompiler checks that with cgo on and CC missing a cgo
// plugin is refused before the type-check runs the C compiler.
func TestPluginsNoCCompiler(t *testing.T) {
	refused, _ := cgoRefusals(t, "CGO_ENABLED=1", "CC=no-such-cc-for-verify")
	checkRefused(t, pluginCase{want: NoCCompiler, pos: "cgodirect/plugin.go:4:8", msg: []string{
		`needs cgo (import "C" at cgodirect/plugin.go:4:8) and cgo is on, but the C compiler "no-such-cc-for-verify" is not found on PATH`,
	}}, refused["example.com/p/cgodirect"])
	if refused["example.com/p/cgodep"] == nil {
		t.Error("cgodep not refused")
	}
}

func TestCgoSetting(t *testing.T) {
	other := "windows"
	if runtime.GOOS == other {
		other = "linux"
	}
	for _, c := range []struct {
		env  []string
		on   bool
		want string
	}{
		{env: []string{"CGO_ENABLED=1"}, on: true},
		{env: []string{"CGO_ENABLED=0"}, want: "CGO_ENABLED=0"},
		{env: []string{"CGO_ENABLED=1", "CGO_ENABLED=0"}, want: "CGO_ENABLED=0"},
		{env: []string{"GOOS=" + other}, want: "off by default when building for " + other},
		{env: []string{"CC=no-such-cc-for-verify", "PATH="}, want: `the C compiler "no-such-cc-for-verify" is not on PATH`},
	} {
		tg := newTarget(Config{Env: c.env})
		if tg.cgo != c.on || !strings.Contains(tg.cgoWhy, c.want) {
			t.Errorf("%q: cgo %v (%s), want %v (%s)", c.env, tg.cgo, tg.cgoWhy, c.on, c.want)
		}
	}
}

func TestParseRegisterFunc(t *testing.T) {
	for _, c := range []struct{ spec, pkg, recv, name string }{
		{"database/sql.Register", "database/sql", "", "Register"},
		{"fmt.Println", "fmt", "", "Println"},
		{"github.com/x/registry.v2/reg.Register", "github.com/x/registry.v2/reg", "", "Register"},
		{"gopkg.in/yaml.v3.Register", "gopkg.in/yaml.v3", "", "Register"},
		{"(*example.com/p/registry.Registry).Add", "example.com/p/registry", "Registry", "Add"},
		{"(example.com/p/registry.Registry).Add", "example.com/p/registry", "Registry", "Add"},
		{"Register", "", "", ""},
		{"example.com/p/.Register", "", "", ""},
		{"example.com/p.", "", "", ""},
		{"(*example.com/p/registry).Add", "", "", ""},
		{"(*example.com/p/registry.Registry.Add", "", "", ""},
		{"example.com/p.Re-gister", "", "", ""},
	} {
		f, err := parseRegisterFunc(c.spec)
		if c.name == "" {
			if err == nil {
				t.Errorf("%q: parsed as %+v, want an error", c.spec, f)
			}
			continue
		}
		if err != nil || f.pkg != c.pkg || f.recv != c.recv || f.name != c.name {
			t.Errorf("%q: %+v, %v", c.spec, f, err)
		}
	}
}

// TestPluginsBadRegisterFunc checks that a malformed entry is a
// configuration error, reported before anything is loaded.
func TestPluginsBadRegisterFunc(t *testing.T) {
	_, err := Plugins(context.Background(), Config{RegisterFuncs: []string{"Register"}}, []string{"example.com/p"})
	var pe *PluginError
	if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), `"Register" is neither`) {
		t.Fatalf("err = %v", err)
	}
}

func TestBuildTags(t *testing.T) {
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{nil, "[]"},
		{[]string{"-trimpath", "-tags=a,b"}, "[a b]"},
		{[]string{"--tags=a"}, "[a]"},
		{[]string{"-tags", "a b"}, "[a b]"},
		{[]string{"-tags=x", "-ldflags=-tags=y"}, "[x]"},
	} {
		if got := strings.Join(buildTags(c.flags), " "); "["+got+"]" != c.want {
			t.Errorf("%q: [%s], want %s", c.flags, got, c.want)
		}
	}
}

func TestRelPos(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "",
		"-":                                "-",
		"/root/go/pkg/mod/x@v1/p/a.go:3:4": "p/a.go:3:4",
		"/root/go/pkg/mod/x@v1/p/a.go:3":   "p/a.go:3",
		"p/a.go:3:4":                       "p/a.go:3:4",
		"/tmp/dir/a.go":                    "dir/a.go",
	} {
		if got := relPos(in); got != want {
			t.Errorf("relPos(%q) = %q, want %q", in, got, want)
		}
	}
}
