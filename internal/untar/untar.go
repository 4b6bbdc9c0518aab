// Package untar owns the safe extraction of a bundle part: a compressed
// tar whose compressed bytes must match the manifest's sha256 and size,
// holding only regular files and directories that stay inside the
// destination. The decompressor is the caller's (zstd in package
// internal/archive, gzip for a slim bundle's source part), so that a
// program that extracts only gzip parts links no zstd decoder.
package untar

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
)

// ErrChecksum is returned when an archive's bytes do not match the manifest.
var ErrChecksum = errors.New("checksum mismatch")

// Extract unpacks the compressed tar r, decompressed by decompress, into
// dest, which must exist, and checks that the compressed bytes match want.
// When r is an io.ReadSeeker (a bundle's embedded or on-disk part), the
// check comes first (see Verify), so a corrupt part writes nothing; a
// stream is checked as it is read, and on a mismatch what was written is
// left for the caller to remove (callers extract into a fresh directory).
// It refuses entries that are not regular files or directories and names
// that would escape dest.
func Extract(r io.Reader, dest string, want bundle.Part, decompress func(io.Reader) (io.ReadCloser, error)) error {
	if rs, ok := r.(io.ReadSeeker); ok {
		if err := Verify(rs, want); err != nil {
			return err
		}
	}
	h := sha256.New()
	cr := &countReader{r: io.TeeReader(r, h)}
	dr, err := decompress(cr)
	if err != nil {
		return err
	}
	defer dr.Close()
	tr := tar.NewReader(dr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading archive: %w", err)
		}
		target, err := SafeJoin(dest, hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := srctree.WriteFile(target, tr, hdr.FileInfo().Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("archive entry %q: type %q is not allowed (only files and directories)", hdr.Name, hdr.Typeflag)
		}
	}
	// Drain so that the checksum covers every byte (a decoder may stop
	// before the end of the stream).
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return err
	}
	return match(hex.EncodeToString(h.Sum(nil)), cr.n, want)
}

// Verify checks that the bytes of r, from where it is, match want, and
// puts r back where it was. It reads at most want.Size bytes and one
// more, when want has a size: a longer stream is corrupt.
func Verify(r io.ReadSeeker, want bundle.Part) error {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	var src io.Reader = r
	if want.Size > 0 {
		src = io.LimitReader(r, want.Size+1)
	}
	h := sha256.New()
	n, err := io.Copy(h, src)
	if err != nil {
		return fmt.Errorf("reading archive: %w", err)
	}
	if err := match(hex.EncodeToString(h.Sum(nil)), n, want); err != nil {
		return err
	}
	_, err = r.Seek(start, io.SeekStart)
	return err
}

func match(sum string, n int64, want bundle.Part) error {
	if sum != want.SHA256 || (want.Size != 0 && n != want.Size) {
		return fmt.Errorf("%w: the part is corrupt: got sha256 %s (%d bytes), manifest says %s (%d bytes)", ErrChecksum, sum, n, want.SHA256, want.Size)
	}
	return nil
}

// SafeJoin joins an archive name to dest, refusing absolute names and
// names with ".." elements.
func SafeJoin(dest, name string) (string, error) {
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

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
