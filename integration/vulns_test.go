//go:build e2e

package integration

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// testVulnDB is the repository's test vulnerability database, as a
// GOVULNDB setting: one made-up entry, GO-2099-0001, for
// example.com/aplugin below v1.2.0, every function of the package
// affected (see testdata/vulndb/README.md).
func testVulnDB(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../testdata/vulndb")
	if err != nil {
		t.Fatal(err)
	}
	return "GOVULNDB=file://" + filepath.ToSlash(dir)
}

// TestVulns runs the vulnerability check of a rebuild on one copy of the
// example, against the test database served as file://: under
// RefuseVulns a missing database stops the rebuild, and a plugin version
// with a reachable vulnerability is refused in one line, the directory
// untouched; the fixed version passes; under WarnVulns the vulnerable
// version installs, the finding reported as new and reachable, and the
// new binary's record (inspect) keeps the scan; a finding the running
// binary has already is not refused; "plugins audit" reports it with
// govulncheck's exit code; a missing database under WarnVulns is one
// warning line and the rebuild goes on.
func TestVulns(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	db := testVulnDB(t)
	missing := "GOVULNDB=file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "nodb"))

	t.Run("dry-run", func(t *testing.T) {
		// The build list alone: the module's finding, not its functions.
		out := run(t, true, dir, env(db), bin, "-refuse-vulns", "-dry-run", "-plugin", "example.com/aplugin@v1.0.0")
		mustContain(t, out, "selfcompile: vulnerability: GO-2099-0001 in example.com/aplugin@v1.0.0 (fixed in v1.2.0), new: TEST DATA", "abinary: would install example.com/aplugin v1.0.0")
	})
	t.Run("refuse-missing-db", func(t *testing.T) {
		before := testkit.Snapshot(t, dir)
		out := run(t, false, dir, env(missing), bin, "-refuse-vulns", "-plugin", "example.com/aplugin@v1.0.0")
		mustContain(t, out, "the vulnerability database file://", "cannot be read", "RefuseVulns")
		mustNotContain(t, out, "smoke")
		if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
			t.Errorf("a stopped rebuild changed the directory:\nbefore %v\nafter  %v", before, after)
		}
	})
	t.Run("refuse", func(t *testing.T) {
		before := testkit.Snapshot(t, dir)
		out := run(t, false, dir, env(db), bin, "-refuse-vulns", "-plugin", "example.com/aplugin@v1.0.0")
		refusal := lineWith(out, "abinary:")
		want := "abinary: smoke: example.com/aplugin@v1.0.0 has vulnerability GO-2099-0001 (fixed in v1.2.0), which this rebuild would bring in, and the Vulns option is RefuseVulns"
		if refusal != want {
			t.Errorf("refusal line %q, want %q", refusal, want)
		}
		mustContain(t, out, "selfcompile: vulnerability: GO-2099-0001 in example.com/aplugin@v1.0.0 (fixed in v1.2.0), reachable, new: TEST DATA")
		if after := testkit.Snapshot(t, dir); !maps.Equal(before, after) {
			t.Errorf("a refused rebuild changed the directory:\nbefore %v\nafter  %v", before, after)
		}
	})
	t.Run("refuse-fixed", func(t *testing.T) {
		out := run(t, true, dir, env(db), bin, "-refuse-vulns", "-plugin", "example.com/aplugin@v1.2.0")
		mustNotContain(t, out, "vulnerability")
		mustContain(t, run(t, true, dir, env(), bin), "plugin example.com/aplugin v1.2.0")
	})
	t.Run("warn", func(t *testing.T) {
		out := run(t, true, dir, env(db), bin, "-plugin", "example.com/aplugin@v1.0.0")
		mustContain(t, out, "selfcompile: vulnerability: GO-2099-0001 in example.com/aplugin@v1.0.0 (fixed in v1.2.0), reachable, new")
		mustContain(t, run(t, true, dir, env(), bin), "plugin example.com/aplugin v1.0.0")
		inspect := run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", bin)
		mustContain(t, inspect, "1 known vulnerability in the build list, per file://")
		if l := lineWith(inspect, "  vuln "); !strings.HasSuffix(l, " GO-2099-0001 example.com/aplugin@v1.0.0") {
			t.Errorf("inspect's vuln line is %q", l)
		}
	})
	t.Run("refuse-not-new", func(t *testing.T) {
		// The running binary has aplugin v1.0.0 already: reported, not
		// refused.
		out := run(t, true, dir, env(db), bin, "-refuse-vulns", "-plugin", "example.com/bplugin@v1.0.0")
		mustContain(t, out, "selfcompile: vulnerability: GO-2099-0001 in example.com/aplugin@v1.0.0 (fixed in v1.2.0), reachable: TEST DATA")
	})
	t.Run("audit", func(t *testing.T) {
		out := runExit(t, 3, dir, env(db), bin, "plugins", "audit")
		mustContain(t, out, "GO-2099-0001 in example.com/aplugin@v1.0.0 (fixed in v1.2.0), reachable: TEST DATA", "plugins: 1 vulnerability known in file://")
		mustNotContain(t, out, ", new")
		out = runExit(t, 1, dir, env(missing), bin, "plugins", "audit")
		mustContain(t, out, "cannot be read")
	})
	t.Run("warn-missing-db", func(t *testing.T) {
		out := run(t, true, dir, env(missing), bin, "-remove", "example.com/aplugin")
		if n := strings.Count(out, "cannot be read"); n != 1 {
			t.Errorf("the missing database is said %d times, want once:\n%s", n, out)
		}
		mustContain(t, out, "selfcompile: warning: the vulnerability database file://", "the new binary was not checked for vulnerabilities")
		out = run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", bin)
		mustContain(t, out, "could not be read")
	})
}

// lineWith is the last line of out that begins with prefix.
func lineWith(out, prefix string) string {
	found := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			found = l
		}
	}
	return found
}

// runExit runs a command and fails the test unless it exits with code.
func runExit(t *testing.T, code int, dir string, environ []string, name string, args ...string) string {
	t.Helper()
	out, got := runCode(t, dir, environ, name, args...)
	if got != code {
		t.Errorf("%s %s: exit code %d, want %d", filepath.Base(name), strings.Join(args, " "), got, code)
	}
	return out
}
