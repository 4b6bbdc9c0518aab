package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/selfcompile/go-selfcompile/bundle"
)

func TestArchiveRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{"a.txt": "alpha", "dir/b.go": "package b", "dir/sub/c": "gamma"}
	var entries []bundle.Entry
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, bundle.Entry{Name: "root/" + name, Src: p})
	}
	var buf bytes.Buffer
	part, err := WriteArchive(&buf, entries, LevelDefault)
	if err != nil {
		t.Fatal(err)
	}
	if part.Size != int64(buf.Len()) {
		t.Errorf("part size %d, wrote %d bytes", part.Size, buf.Len())
	}
	// The same files give the same bytes, whatever the entry order.
	var again bytes.Buffer
	rev := append([]bundle.Entry(nil), entries...)
	rev[0], rev[len(rev)-1] = rev[len(rev)-1], rev[0]
	if p2, err := WriteArchive(&again, rev, LevelDefault); err != nil || p2 != part {
		t.Errorf("second archive: %v, %+v, want %+v", err, p2, part)
	}
	dest := t.TempDir()
	if err := Extract(bytes.NewReader(buf.Bytes()), dest, part); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(dest, "root", filepath.FromSlash(name)))
		if err != nil || string(got) != body {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, body)
		}
	}
}

func TestExtractRefusesTampering(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	part, err := WriteArchive(&buf, []bundle.Entry{{Name: "f", Src: p}}, LevelDefault)
	if err != nil {
		t.Fatal(err)
	}
	bad := part
	bad.SHA256 = strings.Repeat("0", 64)
	err = Extract(bytes.NewReader(buf.Bytes()), t.TempDir(), bad)
	if !errors.Is(err, ErrChecksum) {
		t.Errorf("Extract with a wrong sha256: %v, want ErrChecksum", err)
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  byte
	}{
		{"../evil", tar.TypeReg},
		{"a/../../evil", tar.TypeReg},
		{"/abs/evil", tar.TypeReg},
		{`a\..\evil`, tar.TypeReg},
		{"link", tar.TypeSymlink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			zw, _ := zstd.NewWriter(&buf)
			tw := tar.NewWriter(zw)
			hdr := &tar.Header{Name: tc.name, Typeflag: tc.typ, Mode: 0o644, Linkname: "/etc/passwd"}
			if tc.typ == tar.TypeReg {
				hdr.Size = 1
			}
			if err := tw.WriteHeader(hdr); err != nil {
				t.Fatal(err)
			}
			if tc.typ == tar.TypeReg {
				tw.Write([]byte("x"))
			}
			tw.Close()
			zw.Close()
			dir := t.TempDir()
			dest := filepath.Join(dir, "dest")
			os.Mkdir(dest, 0o755)
			err := Extract(bytes.NewReader(buf.Bytes()), dest, partOf(buf.Bytes()))
			if err == nil || errors.Is(err, ErrChecksum) {
				t.Fatalf("Extract accepted %q (err %v)", tc.name, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
				t.Errorf("a file escaped the destination")
			}
		})
	}
}

// partOf is the manifest's record of data: hostile archives whose
// checksum matches are still refused by what they hold.
func partOf(data []byte) bundle.Part {
	sum := sha256.Sum256(data)
	return bundle.Part{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
}

// A few kB of zstd that would unpack to 64 MiB, with a checksum that does
// not match, is refused as corrupt before anything is written; so is a
// part longer than the manifest says, read no further than that.
func TestExtractVerifiesBeforeWriting(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	tw := tar.NewWriter(zw)
	const size = 64 << 20
	tw.WriteHeader(&tar.Header{Name: "bomb", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
	tw.Write(make([]byte, size))
	tw.Close()
	zw.Close()
	t.Logf("%d bytes of zstd for %d MiB", buf.Len(), size>>20)
	good := partOf(buf.Bytes())
	wrongSum := good
	wrongSum.SHA256 = strings.Repeat("0", 64)
	shorter := partOf(buf.Bytes()[:buf.Len()/2])
	for name, want := range map[string]bundle.Part{"wrong sum": wrongSum, "longer than recorded": shorter} {
		dest := t.TempDir()
		err := Extract(bytes.NewReader(buf.Bytes()), dest, want)
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("%s: %v, want ErrChecksum saying the part is corrupt", name, err)
		}
		if entries, _ := os.ReadDir(dest); len(entries) != 0 {
			t.Errorf("%s: a corrupt part wrote %v", name, entries)
		}
	}
}
