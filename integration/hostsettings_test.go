//go:build e2e

package integration

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestMisspelledRegisterFuncs: a RegisterFuncs entry that names nothing
// in the host's build is refused as the host's setting, with exit code 2,
// before verify or the build start and without blaming the plugin; the
// binary's directory is unchanged. Spelled right, the same install
// passes.
func TestMisspelledRegisterFuncs(t *testing.T) {
	bin := buildHost(t, "")
	dir := filepath.Dir(bin)
	before := testkit.Snapshot(t, dir)
	for _, c := range []struct{ funcs, want string }{
		{"example.com/host/registry.Registr", `host: modgen: RegisterFuncs entry "example.com/host/registry.Registr" names nothing: package example.com/host/registry declares no function Registr: fix the host's RegisterFuncs (Options.RegisterFuncs)`},
		{"example.com/host/nosuch.Register", `host: modgen: RegisterFuncs entry "example.com/host/nosuch.Register" names nothing: the host's build has no package example.com/host/nosuch: fix the host's RegisterFuncs (Options.RegisterFuncs), or import that package from the host`},
		{"Register", `host: prepare: RegisterFuncs entry "Register" is neither import/path.Func nor (*import/path.Type).Method: fix the host's RegisterFuncs (Options.RegisterFuncs)`},
	} {
		out, code := runCode(t, dir, env("HOST_REGISTER_FUNCS="+c.funcs), bin, "install", "example.com/hostplugin@v1.0.0")
		if code != 2 {
			t.Errorf("RegisterFuncs %s: exit code %d, want 2 (refused)", c.funcs, code)
		}
		var refusal []string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "host: ") {
				refusal = append(refusal, line)
			}
		}
		if len(refusal) != 1 || !strings.HasPrefix(refusal[0], c.want) {
			t.Errorf("RegisterFuncs %s: refused with %q, want one line starting\n\t%s", c.funcs, refusal, c.want)
		}
		mustContain(t, out, "refusal: setting in ")
		mustNotContain(t, out, "plugin example.com/hostplugin", "selfcompile: verify", "selfcompile: build")
		if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
			t.Errorf("RegisterFuncs %s: a refused rebuild changed the directory:\nbefore %v\nafter  %v", c.funcs, before, after)
		}
	}
	// The host finds with errors.As what refused a plugin and why.
	out, code := runCode(t, dir, env("HOST_REGISTER_FUNCS=example.com/host/registry.Register"), bin, "install", "example.com/aggnone@v1.0.0")
	if code != 2 {
		t.Errorf("aggnone: exit code %d, want 2 (refused)", code)
	}
	mustContain(t, out, `refusal: plugin in verify: plugin "example.com/aggnone" spec "" reason "no-init-code"`)
	out = run(t, true, dir, env("HOST_REGISTER_FUNCS=example.com/host/registry.Register"), bin, "install", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "selfcompile: smoke")
	mustContain(t, run(t, true, "", env(), bin), "hostplugin v1.0.0")
}
