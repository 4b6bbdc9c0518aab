package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
