//go:build e2e

package integration

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/crypto/ssh"
)

// TestStoreFleet is two machines sharing rebuilds through a real OCI
// registry (go-containerregistry's, served on 127.0.0.1): machine A
// builds and pushes, signed; machine B, with an empty cache, fetches the
// same rebuild, compiles nothing and gets the same bytes; B's binary
// rebuilds again from its own bundle with the registry down (a warning,
// a local build); a tampered and an unsigned artifact are refused with
// trusted keys set, and built here.
func TestStoreFleet(t *testing.T) {
	bin := buildHostWith(t, hostBuild{flags: []string{"-trimpath"}})
	reg := &tamperingRegistry{next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/fleet/host"
	keyA, pubA := writeKey(t)
	dir := t.TempDir()
	machine := func(name string, extra ...string) []string {
		return env(append([]string{"XDG_CACHE_HOME=" + filepath.Join(dir, name), "DOCKER_CONFIG=" + filepath.Join(dir, "docker"), "HOST_EVENTS=1"}, extra...)...)
	}
	outA, outB := filepath.Join(dir, "a"), filepath.Join(dir, "b")

	start := time.Now()
	out := run(t, true, dir, machine("cacheA", "HOST_STORE="+repo, "HOST_SIGNING_KEY="+keyA), bin, "install-to", outA, "example.com/hostplugin@v1.0.0")
	tookA := time.Since(start)
	mustContain(t, out, "selfcompile: store: pushed "+repo+"@sha256:", ", signed by SHA256:")

	start = time.Now()
	out = run(t, true, dir, machine("cacheB", "HOST_STORE="+repo, "HOST_TRUSTED_KEYS="+pubA), bin, "install-to", outB, "example.com/hostplugin@v1.0.0")
	t.Logf("install with an empty cache: machine A (build, push) %v, machine B (fetch) %v", tookA.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	mustContain(t, out, "selfcompile: store: fetched "+repo+"@sha256:", ", signed by SHA256:")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Kind:go ") && (strings.Contains(line, "Args:[build") || strings.Contains(line, "-export")) {
			t.Errorf("machine B compiled: %s", line)
		}
		if strings.Contains(line, "Kind:start Stage:build") || strings.Contains(line, "Kind:start Stage:verify") {
			t.Errorf("machine B ran a stage it fetches instead: %s", line)
		}
	}
	if a, b := fileSum(t, outA), fileSum(t, outB); a != b {
		t.Fatalf("machine B fetched sha256 %s, machine A built %s", b, a)
	}
	mustContain(t, run(t, true, "", env(), outB), "[hostplugin v1.0.0 with shared v1.1.0]")
	// inspect reads what B's cache remembers; the go command keeps the
	// suite's build cache.
	inspectEnv := env("XDG_CACHE_HOME="+filepath.Join(dir, "cacheB"), "GOCACHE="+filepath.Join(shared.cache, "go-build"))
	out = run(t, true, "", inspectEnv, "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", outB)
	mustContain(t, out, "key", "sc1-", "origin", "fetched from "+repo+"@sha256:", ", signed by SHA256:")

	// B's binary rebuilds from the bundle it fetched; the store is down.
	dead := closedAddress(t) + "/fleet/host"
	outB2 := filepath.Join(dir, "b2")
	out = run(t, true, dir, machine("cacheB", "HOST_STORE="+dead), outB, "install-to", outB2, "example.com/hostplugin2@v1.0.0")
	mustContain(t, out, "selfcompile: warning: store "+dead+": ", ": building here")
	mustNotContain(t, out, "not pushed") // one warning for a registry down
	mustContain(t, run(t, true, "", env(), outB2), "hostplugin v1.0.0", "hostplugin2")

	// The binary's blob changed in the registry: its digest is wrong.
	reg.tamper.Store(true)
	out = run(t, true, dir, machine("cacheB", "HOST_STORE="+repo, "HOST_TRUSTED_KEYS="+pubA), bin, "install-to", filepath.Join(dir, "c"), "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "selfcompile: warning: store "+repo+": ", "building here")
	mustNotContain(t, out, "selfcompile: store: fetched")
	reg.tamper.Store(false)

	// The signature gone: unsigned.
	reg.unsigned.Store(true)
	out = run(t, true, dir, machine("cacheB", "HOST_STORE="+repo, "HOST_TRUSTED_KEYS="+pubA), bin, "install-to", filepath.Join(dir, "d"), "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "selfcompile: warning: store "+repo+": refusing "+repo+"@sha256:", "it is not signed: building here")
	mustNotContain(t, out, "selfcompile: store: fetched")
}

// tamperingRegistry serves a registry, and when told, changes the last
// byte of every large blob it serves (tamper), or hides every signature
// (unsigned).
type tamperingRegistry struct {
	next             http.Handler
	tamper, unsigned atomic.Bool
}

func (r *tamperingRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.unsigned.Load() && (strings.Contains(req.URL.Path, "/referrers/") || strings.Contains(req.URL.Path, "/manifests/sha256-")) {
		http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"hidden"}]}`, http.StatusNotFound)
		return
	}
	if !r.tamper.Load() || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/blobs/") {
		r.next.ServeHTTP(w, req)
		return
	}
	rec := httptest.NewRecorder()
	r.next.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if len(body) > 1<<20 {
		body[len(body)-1] ^= 0xff
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// writeKey writes an ed25519 private key in OpenSSH format, and returns
// its file and public key in authorized_keys format.
func writeKey(t *testing.T) (string, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "builder")
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(name, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return name, string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(pub))) + " builder"
}

// closedAddress is a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func fileSum(t *testing.T, name string) string {
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
