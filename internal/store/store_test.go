package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/crypto/ssh"
)

// newKey writes an ed25519 private key in OpenSSH format and returns its
// file and its authorized_keys line.
func newKey(t *testing.T) (string, string) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(name, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(priv.Public())
	return name, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " test"
}

func TestPushLookupPullSign(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	s, err := Open(strings.TrimPrefix(srv.URL, "http://") + "/org/host")
	if err != nil {
		t.Fatal(err)
	}
	key := "sc1-" + strings.Repeat("ab", 32)
	if _, err := s.Lookup(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup of an empty store = %v, want ErrNotFound", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	data := []byte("a binary\x00with bytes")
	os.WriteFile(bin, data, 0o755)
	sum := sha256.Sum256(data)
	rec := Record{Key: key, GOOS: "linux", GOARCH: "amd64", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	desc, err := s.Push(ctx, rec, bin)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Push(ctx, rec, bin)
	if err != nil || again.Digest != desc.Digest {
		t.Fatalf("a second push of the same binary: %v, %s != %s", err, again.Digest, desc.Digest)
	}
	a, err := s.Lookup(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if a.Manifest.Digest != desc.Digest || a.Record.SHA256 != rec.SHA256 {
		t.Fatalf("Lookup found %+v", a)
	}
	out := filepath.Join(dir, "out")
	if err := s.Pull(ctx, a, out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != string(data) {
		t.Fatalf("pulled %q", got)
	}

	signer, pub := newKey(t)
	_, other := newKey(t)
	trusted, err := ParseTrusted([]string{pub})
	if err != nil {
		t.Fatal(err)
	}
	untrusted, _ := ParseTrusted([]string{other})
	if _, err := s.Verify(ctx, trusted, key, a.Manifest); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("Verify of an unsigned artifact = %v", err)
	}
	sg, err := LoadSigner(signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sign(ctx, sg, key, a.Manifest); err != nil {
		t.Fatal(err)
	}
	if fp, err := s.Verify(ctx, trusted, key, a.Manifest); err != nil || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("Verify of a signed artifact = %q, %v", fp, err)
	}
	if _, err := s.Verify(ctx, untrusted, key, a.Manifest); err == nil {
		t.Fatal("an artifact signed by another key verified")
	}
	if _, err := s.Verify(ctx, trusted, "sc1-"+strings.Repeat("cd", 32), a.Manifest); err == nil {
		t.Fatal("a signature verified for another key")
	}

	// The binary's blob replaced by other bytes of the same digest name:
	// the pull refuses it.
	a.Binary.Size++
	os.Remove(out)
	if err := s.Pull(ctx, a, out); err == nil {
		t.Fatal("a pull of a blob of the wrong size passed")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused pull left %s", out)
	}
}

func TestOpen(t *testing.T) {
	for ref, want := range map[string]string{
		"registry.example.com/org/host:v1": "names a tag",
		"nohost":                           "want a repository",
	} {
		if _, err := Open(ref); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want %q", ref, err, want)
		}
	}
	for host, want := range map[string]bool{"localhost:5000": true, "127.0.0.1:80": true, "[::1]:5000": true, "registry.example.com": false, "10.0.0.1:5000": false} {
		if Loopback(host) != want {
			t.Errorf("Loopback(%q) = %v", host, !want)
		}
	}
	if _, err := ParseTrusted([]string{"ssh-rsa AAAA"}); err == nil {
		t.Error("ParseTrusted took a malformed key")
	}
}
