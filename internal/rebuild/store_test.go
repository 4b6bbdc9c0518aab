package rebuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/helper"
)

func part(data []byte) bundle.Part {
	sum := sha256.Sum256(data)
	return bundle.Part{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

// TestFetchedBundle finds the bundle's parts in a binary as go:embed
// lays them out: somewhere among other bytes, behind decoys that begin
// the same way.
func TestFetchedBundle(t *testing.T) {
	zstd := []byte{0x28, 0xb5, 0x2f, 0xfd}
	source := append(append([]byte{}, zstd...), []byte("source part")...)
	frame2 := append(append([]byte{}, zstd...), []byte("second module")...)
	modules := append(append(append([]byte{}, zstd...), []byte("first module")...), frame2...)
	m := &bundle.Manifest{Format: bundle.FormatVersion, GOOS: "linux", GOARCH: "amd64",
		Parts:        map[string]bundle.Part{bundle.SourceFile: part(source), bundle.ModulesFile: part(modules)},
		ModuleFrames: map[string]bundle.Frame{"a@v1": {Offset: 0}, "b@v1": {Offset: int64(len(modules) - len(frame2))}},
	}
	var bin bytes.Buffer
	bin.WriteString("ELF header")
	bin.Write(zstd) // a decoy
	bin.WriteString("code")
	bin.Write(modules)
	bin.WriteString("rodata")
	bin.Write(source)
	bin.Write(zstd)
	name := filepath.Join(t.TempDir(), "bin")
	os.WriteFile(name, bin.Bytes(), 0o755)
	dir, err := fetchedBundle(name, m, filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]byte{bundle.SourceFile: source, bundle.ModulesFile: modules} {
		if got, _ := os.ReadFile(filepath.Join(dir, file)); !bytes.Equal(got, want) {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, bundle.ManifestFile)); !bytes.Contains(got, []byte(m.Parts[bundle.SourceFile].SHA256)) {
		t.Errorf("manifest written: %s", got)
	}
	m.Parts[bundle.SourceFile] = part([]byte("not there"))
	if _, err := fetchedBundle(name, m, filepath.Join(t.TempDir(), "c")); err == nil {
		t.Error("a part the binary does not hold was found")
	}
}

func TestSamePluginsAndRedact(t *testing.T) {
	a := []bundle.Plugin{{Path: "x", Module: "x", Version: "v1"}, {Path: "y", Module: "y", Version: "v2"}}
	b := []bundle.Plugin{a[1], a[0]}
	if !samePlugins(a, b) {
		t.Error("order made two plugin sets differ")
	}
	b[0].Version = "v3"
	if samePlugins(a, b) {
		t.Error("another version left two plugin sets equal")
	}
	if got := redact(errors.New(`Get "https://user:secret@registry.example.com/v2/": refused`)); bytes.Contains([]byte(got), []byte("secret")) {
		t.Errorf("redact kept the password: %s", got)
	}
}

func TestCheckStore(t *testing.T) {
	for _, job := range []helper.Job{
		{TrustedKeys: []string{"ssh-ed25519 AAAA"}},
		{Store: "registry.example.com/org/host:tag"},
		{Store: "registry.example.com/org/host", TrustedKeys: []string{"not a key"}},
		{Store: "registry.example.com/org/host", SigningKey: filepath.Join(t.TempDir(), "missing")},
	} {
		if err := checkStore(&job); err == nil {
			t.Errorf("checkStore(%+v) passed", job)
		}
	}
	if err := checkStore(&helper.Job{Store: "registry.example.com/org/host"}); err != nil {
		t.Error(err)
	}
}
