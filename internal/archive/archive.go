package archive

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/selfcompile/go-selfcompile/bundle"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Level is a compression level for archives.
type Level = zstd.EncoderLevel

// Compression levels, re-exported from zstd for callers of WriteArchive.
const (
	LevelFast    = zstd.SpeedFastest
	LevelDefault = zstd.SpeedDefault
	LevelBetter  = zstd.SpeedBetterCompression
	LevelBest    = zstd.SpeedBestCompression
)

// WriteArchive writes entries as a zstd-compressed tar to w. Headers are
// normalised (no owners, no times, mode 0644 or 0755) so that the same
// files give the same bytes. It returns the sha256 and size written.
func WriteArchive(w io.Writer, entries []bundle.Entry, level Level) (bundle.Part, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	zw, err := zstd.NewWriter(cw, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return bundle.Part{}, err
	}
	tw := tar.NewWriter(zw)
	sorted := append([]bundle.Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, e := range sorted {
		if err := addFile(tw, e); err != nil {
			zw.Close()
			return bundle.Part{}, err
		}
	}
	if err := tw.Close(); err != nil {
		zw.Close()
		return bundle.Part{}, err
	}
	if err := zw.Close(); err != nil {
		return bundle.Part{}, err
	}
	return bundle.Part{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, nil
}

func addFile(tw *tar.Writer, e bundle.Entry) error {
	f, err := os.Open(e.Src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", e.Src)
	}
	mode := int64(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.Name, Mode: mode, Size: fi.Size(), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("archiving %s: %w", e.Src, err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ErrChecksum is returned when an archive's bytes do not match its manifest.
var ErrChecksum = errors.New("checksum mismatch")

// Extract unpacks the zstd-compressed tar r into dest, which must exist,
// and checks that the compressed bytes match want. It refuses entries
// that are not regular files or directories and names that would escape
// dest. On a checksum mismatch, what was written is left for the caller
// to remove (callers extract into a fresh directory).
func Extract(r io.Reader, dest string, want bundle.Part) error {
	h := sha256.New()
	cr := &countReader{r: io.TeeReader(r, h)}
	zr, err := zstd.NewReader(cr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading archive: %w", err)
		}
		target, err := safeJoin(dest, hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, tr, hdr.FileInfo().Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("archive entry %q: type %q is not allowed (only files and directories)", hdr.Name, hdr.Typeflag)
		}
	}
	// Drain so that the checksum covers every byte (zstd may stop early).
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return err
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want.SHA256 || (want.Size != 0 && cr.n != want.Size) {
		return fmt.Errorf("%w: got sha256 %s (%d bytes), manifest says %s (%d bytes)", ErrChecksum, got, cr.n, want.SHA256, want.Size)
	}
	return nil
}

// safeJoin joins an archive name to dest, refusing absolute names and
// names with ".." elements.
func safeJoin(dest, name string) (string, error) {
	clean := path.Clean(name)
	if name == "" || path.IsAbs(name) || strings.HasPrefix(name, "/") || clean == ".." ||
		strings.HasPrefix(clean, "../") || strings.Contains(name, `\`) || filepath.VolumeName(name) != "" {
		return "", fmt.Errorf("archive entry %q escapes the destination directory: the bundle is corrupt or malicious", name)
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == ".." {
			return "", fmt.Errorf("archive entry %q escapes the destination directory: the bundle is corrupt or malicious", name)
		}
	}
	return filepath.Join(dest, filepath.FromSlash(clean)), nil
}

func writeFile(target string, r io.Reader, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
