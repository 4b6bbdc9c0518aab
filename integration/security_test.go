//go:build e2e

package integration

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
	"github.com/selfcompile/go-selfcompile/internal/testuser"
)

// A GOPROXY with credentials given in Options.Env reaches the go command
// but nothing that persists or prints: not the new binary (whose rebuild
// record inspect shows), not the events, not the errors.
func TestSecretsNeverPersist(t *testing.T) {
	const secret = "s3cr3t-e2e-token"
	bin := buildHost(t, "")
	// The go command passes credentials over https only: a proxy that
	// refuses the connection, then (after "|", on any error) the test's.
	proxy := "https://user:" + secret + "@127.0.0.1:1/|" + shared.proxyURL + ",off"
	environ := env("HOST_EVENTS=1", "HOST_OPTIONS_ENV=GOPROXY="+proxy+"\nGONOSUMDB=example.com")
	out := run(t, true, filepath.Dir(bin), environ, bin, "install", "example.com/hostplugin2@v1.0.0")
	mustContain(t, out, "event: ")
	mustNotContain(t, out, secret)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(secret)) {
		t.Errorf("the rebuilt binary holds the secret")
	}
	mustContain(t, run(t, true, "", env(), bin), "hostplugin2")
	inspect := run(t, true, shared.repo, hostGoEnv(), "go", "run", "./cmd/go-selfcompile", "inspect", bin)
	mustContain(t, inspect, "rebuilt")
	mustNotContain(t, inspect, secret)
	// A failing rebuild: a plugin the proxy does not serve.
	out = run(t, false, filepath.Dir(bin), environ, bin, "install", "example.com/nosuchplugin@v1.0.0")
	mustContain(t, out, "host: ")
	mustNotContain(t, out, secret)
}

// The sudo case: a rebuild whose cache lies in another user's directory
// (XDG_CACHE_HOME at their ~/.cache) is refused in prepare, and nothing
// of theirs runs.
func TestOtherUsersCacheRefused(t *testing.T) {
	uid, gid := testuser.Need(t)
	bin := install(t, exampleBinary(t))
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(base, "home", ".cache")
	if err := os.MkdirAll(filepath.Join(theirs, "go-selfcompile", "toolchain"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(filepath.Join(base, "home"), func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := testkit.Snapshot(t, filepath.Dir(bin))
	out := run(t, false, filepath.Dir(bin), env("XDG_CACHE_HOME="+theirs), bin, "--plugin", "example.com/aplugin@v1.2.0")
	mustContain(t, out, "prepare", "refusing to trust "+filepath.Join(theirs, "go-selfcompile"), "owner uid", "owned by uid 0")
	if after := testkit.Snapshot(t, filepath.Dir(bin)); !maps.Equal(before, after) {
		t.Errorf("the refused rebuild changed the binary's directory")
	}
}
