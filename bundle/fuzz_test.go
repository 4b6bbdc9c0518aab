package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzManifest: a manifest file, or a binary that carries one, is read
// without panicking whatever it holds, and a manifest accepted from a
// file is written back as one read the same.
func FuzzManifest(f *testing.F) {
	m := &Manifest{Format: FormatVersion, GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Module: "example.com/host",
		Plugins: []Plugin{{Path: "example.com/p", Module: "example.com/p", Version: "v1.0.0", Query: "latest"}},
		Parts:   map[string]Part{ToolchainFile: {SHA256: "ab", Size: 10}, SourceFile: {SHA256: "cd", Size: 2}, ModulesFile: {SHA256: "ef", Size: 1}, HelperFile: {SHA256: "01", Size: 1}},
		Rebuild: &Rebuild{GoVersion: "go1.26.8", Settings: []string{"-tags=x"}}}
	data, err := m.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(append([]byte("\x7fELF\x00"), data...))
	f.Add(bytes.Repeat(manifestStart, 50))
	f.Add([]byte(`{"format": 1e999, "parts": {"x": {"size": -1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{ManifestFile: {Data: data}}
		if m, err := ReadManifest(fsys); err == nil {
			out, err := m.Marshal()
			if err != nil {
				t.Fatalf("marshalling an accepted manifest: %v", err)
			}
			again, err := ReadManifest(fstest.MapFS{ManifestFile: {Data: out}})
			if err != nil {
				t.Fatalf("reading back an accepted manifest: %v\n%s", err, out)
			}
			if out2, _ := again.Marshal(); !bytes.Equal(out, out2) {
				t.Errorf("round trip:\n%s\n%s", out, out2)
			}
		}
		name := filepath.Join(t.TempDir(), "bin")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = ManifestInBinary(name)
	})
}
