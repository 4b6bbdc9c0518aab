//go:build e2e

package integration

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestResolutionRefusals: each spec that resolves to nothing is refused
// by the command set in one line that names what exists, with exit code
// 2 (a refusal); the go command's own words appear only with --verbose.
func TestResolutionRefusals(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	cache := t.TempDir() // holds no module: GOPROXY=off finds none
	for _, c := range []struct {
		spec  string
		env   []string
		want  string
		quiet string // what only --verbose shows
	}{
		{"example.com/aplugin/nosuch", nil, `plugins: modgen: plugin "example.com/aplugin/nosuch": example.com/aplugin v1.3.0 has no package nosuch: check the path, or ask a version that has it`, ""},
		{"example.com/aplugin/sub@v1.9.9", nil, `plugins: modgen: plugin "example.com/aplugin/sub@v1.9.9": no version v1.9.9 of example.com/aplugin (newest v1.3.0; nearest v1.4.0-rc.1)`, "v1.9.9.info: 404 Not Found"},
		{"example.com/nosuchplugin@v1.0.0", nil, `plugins: modgen: plugin "example.com/nosuchplugin@v1.0.0": no module provides package example.com/nosuchplugin: check the path`, "404 Not Found"},
		{"example.com/aplugin@v1.2.0", []string{"GOPROXY=off", "XDG_CACHE_HOME=" + cache}, `plugins: modgen: plugin "example.com/aplugin@v1.2.0": GOPROXY=off: example.com/aplugin is not in the bundle and needs the module proxy`, "disabled by GOPROXY=off"},
	} {
		out, code := runCode(t, dir, env(c.env...), bin, "plugins", "add", c.spec)
		if code != 2 {
			t.Errorf("%s: exit code %d, want 2", c.spec, code)
		}
		var last string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(line, "plugins: ") {
				if last != "" {
					t.Errorf("%s: more than one line of refusal: %q and %q", c.spec, last, line)
				}
				last = line
			}
		}
		if last != c.want {
			t.Errorf("%s: refused with\n\t%s\nwant\n\t%s", c.spec, last, c.want)
		}
		if c.quiet == "" {
			continue
		}
		mustNotContain(t, out, c.quiet)
		out, _ = runCode(t, dir, env(c.env...), bin, "plugins", "add", "--verbose", c.spec)
		mustContain(t, out, c.quiet)
	}
}

// runCode runs a command and returns its combined output and exit code.
func runCode(t testing.TB, dir string, environ []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, environ
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("$ %s %s\n%s", filepath.Base(name), strings.Join(args, " "), out.String())
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	}
	t.Fatal(err)
	return "", -1
}
