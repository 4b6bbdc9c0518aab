//go:build e2e

package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// The bundled toolchain carries only what a build for its own platform
// reads (package toolchain). These cases rebuild hosts whose builds need
// the parts most easily lost: the race detector's objects and cgo, the
// profile tool, and -trimpath. Each installs a plugin and checks that the
// new binary was built the same way and runs it.

// rebuildAndCheck installs example.com/hostplugin into bin and checks the
// rebuilt binary's build settings (go version -m) and output.
func rebuildAndCheck(t *testing.T, bin string, settings ...string) {
	t.Helper()
	before := run(t, true, "", env(), "go", "version", "-m", bin)
	for _, s := range settings {
		mustContain(t, before, s)
	}
	run(t, true, filepath.Dir(bin), env(), bin, "install", "example.com/hostplugin@v1.0.0")
	after := run(t, true, "", env(), "go", "version", "-m", bin)
	for _, s := range settings {
		mustContain(t, after, s)
	}
	mustContain(t, run(t, true, "", env(), bin), "host running with shared v1.1.0 and [hostplugin v1.0.0 with shared v1.1.0]")
}

// TestRebuildRaceHost rebuilds a host built with -race: the bundled
// toolchain must hold runtime/race with this platform's race .syso, and
// cgo.
func TestRebuildRaceHost(t *testing.T) {
	cc := "gcc"
	if out, err := exec.Command("go", "env", "CC").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		cc = strings.Fields(string(out))[0]
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("-race needs cgo and a C compiler; %s is not on PATH", cc)
	}
	bin := buildHostWith(t, hostBuild{flags: []string{"-race"}, env: []string{"CGO_ENABLED=1"}})
	rebuildAndCheck(t, bin, "build\t-race=true", "build\tCGO_ENABLED=1")
}

// TestRebuildTrimpathHost rebuilds a host built with -trimpath.
func TestRebuildTrimpathHost(t *testing.T) {
	bin := buildHostWith(t, hostBuild{flags: []string{"-trimpath"}})

	// Reproducible: two rebuilds with the same inputs, from different
	// caches and so different work directories, write the same bytes.
	dir := t.TempDir()
	out1, out2 := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	run(t, true, filepath.Dir(bin), env("XDG_CACHE_HOME="+filepath.Join(dir, "cache1")), bin, "install-to", out1, "example.com/hostplugin@v1.0.0")
	run(t, true, filepath.Dir(bin), env("XDG_CACHE_HOME="+filepath.Join(dir, "cache2")), bin, "install-to", out2, "example.com/hostplugin@v1.0.0")
	one, err1 := os.ReadFile(out1)
	two, err2 := os.ReadFile(out2)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !bytes.Equal(one, two) {
		at := 0
		for at < len(one) && at < len(two) && one[at] == two[at] {
			at++
		}
		t.Errorf("two rebuilds with the same inputs differ (%d and %d bytes, first at byte %d)", len(one), len(two), at)
	}

	// The new binary's bundle records the rebuild.
	prev, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(prev)
	out := run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", out1)
	mustContain(t, out, "rebuilt", "from the binary with sha256 "+hex.EncodeToString(sum[:]), "-trimpath", "sum", "example.com/hostplugin v1.0.0 h1:", "drift", "example.com/shared v1.0.0 -> v1.1.0")

	rebuildAndCheck(t, bin, "build\t-trimpath=true")
}

// TestRebuildPGOHost rebuilds a host with a default.pgo in its main
// package directory: the generator bundles the profile tool, the rebuild
// builds with the profile again.
func TestRebuildPGOHost(t *testing.T) {
	bin := buildHostWith(t, hostBuild{files: map[string][]byte{"default.pgo": cpuProfile(t)}})
	rebuildAndCheck(t, bin, "build\t-pgo=")
	out := run(t, true, "", env(), "go", "version", "-m", bin)
	mustContain(t, out, "default.pgo")
}

// cpuProfile records a short CPU profile of this process: any valid
// profile makes a PGO build.
func cpuProfile(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Fatal(err)
	}
	x := 0
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		for i := range 1000 {
			x += i * i
		}
	}
	pprof.StopCPUProfile()
	if x == 42 {
		t.Log(x)
	}
	return buf.Bytes()
}
