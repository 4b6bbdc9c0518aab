package untar

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// FuzzExtract feeds Extract any tar stream, with a matching checksum (the
// hostile part is the one the manifest vouches for): nothing may be
// written outside the destination, nothing inside it may be anything but
// a regular file or a directory, and no link may be followed.
func FuzzExtract(f *testing.F) {
	for _, entries := range [][]tar.Header{
		{{Name: "module/go.mod", Typeflag: tar.TypeReg, Size: 3}, {Name: "module/dir/", Typeflag: tar.TypeDir}},
		{{Name: "../outside/evil", Typeflag: tar.TypeReg, Size: 3}},
		{{Name: "/abs", Typeflag: tar.TypeReg, Size: 3}},
		{{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../outside"}, {Name: "link/evil", Typeflag: tar.TypeReg, Size: 3}},
		{{Name: "hard", Typeflag: tar.TypeLink, Linkname: "../outside/keep"}},
		{{Name: "fifo", Typeflag: tar.TypeFifo}},
		{{Name: "a", Typeflag: tar.TypeReg, Size: 3}, {Name: "a", Typeflag: tar.TypeReg, Size: 3}},
		{{Name: `a\..\..\evil`, Typeflag: tar.TypeReg, Size: 3}},
	} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range entries {
			h.Mode = 0o644
			tw.WriteHeader(&h)
			if h.Size > 0 {
				tw.Write([]byte("abc"))
			}
		}
		tw.Close()
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dest, outside := filepath.Join(base, "dest"), filepath.Join(base, "outside")
		for _, d := range []string{dest, outside} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		keep := filepath.Join(outside, "keep")
		if err := os.WriteFile(keep, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		part := bundle.Part{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
		_ = Extract(bytes.NewReader(data), dest, part, func(r io.Reader) (io.ReadCloser, error) { return io.NopCloser(r), nil })
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case p == base || p == dest || p == outside || p == keep:
			case !isUnder(p, dest):
				t.Errorf("written outside the destination: %s", p)
			case !d.IsDir() && !d.Type().IsRegular():
				t.Errorf("%s is a %v, not a file or directory", p, d.Type())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(keep); err != nil || fi.Mode() != 0o600 {
			t.Errorf("the file outside changed: %v, %v", fi, err)
		} else if data, _ := os.ReadFile(keep); string(data) != "keep" {
			t.Errorf("the file outside holds %q", data)
		}
	})
}

func isUnder(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel)
}
