package bundle

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestManifestInBinary(t *testing.T) {
	m := &Manifest{Format: FormatVersion, GoVersion: "go1.26.8", GOOS: "windows", GOARCH: "amd64", Module: "example.com/host",
		Plugins: []Plugin{{Path: "example.com/p", Module: "example.com/p", Version: "v1.0.0"}},
		Parts:   map[string]Part{ToolchainFile: {SHA256: "ab", Size: 10}}}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Bytes around it as a binary has them, and a decoy that starts the
	// same way but is no manifest.
	file := append([]byte("\x7fELF\x00\x01{\n\t\"format\": \"no\"}garbage"), data...)
	file = append(file, "\x00\x00more"...)
	name := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(name, file, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ManifestInBinary(name)
	if err != nil {
		t.Fatal(err)
	}
	if got.GOOS != "windows" || len(got.Plugins) != 1 || got.Parts[ToolchainFile].Size != 10 {
		t.Errorf("found %+v", got)
	}
	if err := os.WriteFile(name, []byte("\x7fELF no bundle here"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ManifestInBinary(name); !errors.Is(err, ErrNoManifest) {
		t.Errorf("a binary without a bundle: %v, want ErrNoManifest", err)
	}
}

// A crafted file costs bounded time: thousands of places that begin like
// a manifest, each nested as deep as the decoder allows, and a manifest
// past the size cap, which is not read.
func TestManifestInBinaryBounded(t *testing.T) {
	nested := bytes.Repeat(manifestStart, 280<<10/len(manifestStart))
	name := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(name, nested, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := ManifestInBinary(name); !errors.Is(err, ErrNoManifest) {
		t.Errorf("nested decoys: %v, want ErrNoManifest", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("nested decoys took %v", d)
	}
	m := &Manifest{Format: FormatVersion, Module: strings.Repeat("x", MaxManifestSize), Parts: map[string]Part{ToolchainFile: {SHA256: "ab"}}}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ManifestInBinary(name); !errors.Is(err, ErrNoManifest) {
		t.Errorf("a manifest past the cap: %v, want ErrNoManifest", err)
	}
	if _, err := ReadManifestFile(os.DirFS(filepath.Dir(name)), "bin"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ReadManifestFile of a manifest past the cap: %v", err)
	}
}
