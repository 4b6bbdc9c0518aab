package untar

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// gzipTar returns a gzip-compressed tar of files and its part record.
func gzipTar(t *testing.T, files map[string]string) ([]byte, bundle.Part) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), bundle.Part{SHA256: hex.EncodeToString(sum[:]), Size: int64(buf.Len())}
}

func gunzip(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }

func TestExtract(t *testing.T) {
	data, part := gzipTar(t, map[string]string{"module/go.mod": "module m\n", "module/m.go": "package m\n"})
	dest := t.TempDir()
	if err := Extract(bytes.NewReader(data), dest, part, gunzip); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "module", "m.go")); string(got) != "package m\n" {
		t.Errorf("m.go: %q", got)
	}
	bad := part
	bad.SHA256 = strings.Repeat("0", 64)
	if err := Extract(bytes.NewReader(data), t.TempDir(), bad, gunzip); !errors.Is(err, ErrChecksum) {
		t.Errorf("a wrong checksum: %v, want ErrChecksum", err)
	}
	for _, name := range []string{"../escape", "/abs", "a/../../escape"} {
		data, part := gzipTar(t, map[string]string{name: "x"})
		if err := Extract(bytes.NewReader(data), t.TempDir(), part, gunzip); err == nil || !strings.Contains(err.Error(), "escapes the destination") {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
}
