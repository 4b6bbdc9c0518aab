// Package archive writes and reads the bundle's parts: tar archives
// compressed with zstd (one frame per module for the modules part, so
// that a rebuild copies the unchanged ones), gzip for the helper, each
// checked against the sha256 and size the manifest records. Extraction
// refuses any entry that would land outside its destination (package
// internal/untar). It also writes a whole bundle into a main package
// directory ([Write], [WritePlatform]): its parts, side by side, then the
// manifest and the stub that embeds them.
package archive

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/klauspost/compress/zstd"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/untar"
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

// LongWindow is the zstd window the toolchain part is written with: 128
// MiB, which holds the whole trimmed GOROOT tar (about 110 MB), so that a
// file repeated anywhere in the tree (the versioned Unicode and IDNA
// tables, the same assembly for several architectures) is stored once.
// The default window is 8 MiB; at the best level the toolchain part
// is about a fifth smaller with this one. Decoding it costs about
// LongWindow of memory, however small the archive is.
const LongWindow = 128 << 20

// MaxWindow is the largest zstd window [Extract] accepts. It is twice
// [LongWindow], so that a bundle written by a later version with a larger
// window can still be read, and it bounds the memory a corrupt or
// malicious archive can make the decoder allocate.
const MaxWindow = 256 << 20

// WriteArchive writes entries as a zstd-compressed tar to w with the
// encoder's default window (8 MiB, at most the size of the input). Headers
// are normalised (no owners, no times, mode 0644 or 0755) so that the same
// files give the same bytes. It returns the sha256 and size written.
func WriteArchive(w io.Writer, entries []bundle.Entry, level Level) (bundle.Part, error) {
	return WriteArchiveWindow(w, entries, level, 0)
}

// WriteArchiveWindow is [WriteArchive] with a zstd window of window bytes,
// a power of two from 1 KiB to [MaxWindow]; 0 means the default. A larger
// window finds repeats further apart, and the decoder needs that much
// memory: use [LongWindow] for the toolchain part.
func WriteArchiveWindow(w io.Writer, entries []bundle.Entry, level Level, window int) (bundle.Part, error) {
	if window > MaxWindow {
		return bundle.Part{}, fmt.Errorf("zstd window %d MiB is larger than the %d MiB Extract accepts", window>>20, MaxWindow>>20)
	}
	opts := []zstd.EOption{zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1)}
	if window != 0 {
		// Low-memory mode keeps the encoder's history at the window
		// plus one block instead of twice the window.
		opts = append(opts, zstd.WithWindowSize(window), zstd.WithLowerEncoderMem(window > 8<<20))
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	zw, err := zstd.NewWriter(cw, opts...)
	if err != nil {
		return bundle.Part{}, err
	}
	if err := WriteTar(zw, entries); err != nil {
		zw.Close()
		return bundle.Part{}, err
	}
	if err := zw.Close(); err != nil {
		return bundle.Part{}, err
	}
	return bundle.Part{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, nil
}

// WriteGzipArchive writes entries as a gzip-compressed tar (best level),
// headers normalised as WriteArchive's: the format of a slim bundle's
// source part, which the host unpacks itself with the standard library.
func WriteGzipArchive(w io.Writer, entries []bundle.Entry) (bundle.Part, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	zw, err := gzip.NewWriterLevel(cw, gzip.BestCompression)
	if err != nil {
		return bundle.Part{}, err
	}
	if err := WriteTar(zw, entries); err != nil {
		return bundle.Part{}, err
	}
	if err := zw.Close(); err != nil {
		return bundle.Part{}, err
	}
	return bundle.Part{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, nil
}

// WriteTar writes entries as the uncompressed tar stream that
// WriteArchive compresses: sorted by name, headers normalised. An archive
// compressed by another zstd encoder from this stream is read by Extract
// like any other (see [DecodedSHA256] to check such an archive).
func WriteTar(w io.Writer, entries []bundle.Entry) error {
	tw := tar.NewWriter(w)
	sorted := append([]bundle.Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, e := range sorted {
		if err := addFile(tw, e); err != nil {
			return err
		}
	}
	return tw.Close()
}

// DecodedSHA256 decompresses the zstd stream r with the decoder and limits
// that Extract uses and returns the sha256 of what it decodes to.
func DecodedSHA256(r io.Reader) (string, error) {
	zr, err := newDecoder(r)
	if err != nil {
		return "", err
	}
	defer zr.Close()
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		return "", windowError(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newDecoder checks the first frame's window and returns a decoder that
// refuses windows above MaxWindow in later frames too.
func newDecoder(r io.Reader) (*zstd.Decoder, error) {
	br := bufio.NewReader(r)
	if err := checkWindow(br); err != nil {
		return nil, err
	}
	return zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(MaxWindow), zstd.WithDecoderMaxMemory(MaxWindow))
}

func windowError(err error) error {
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		// A later frame asks for more than the first one did.
		return fmt.Errorf("%w: a frame of the archive needs more than the %d MiB this reader accepts: the bundle is corrupt", ErrWindowTooLarge, MaxWindow>>20)
	}
	return err
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
var ErrChecksum = untar.ErrChecksum

// ErrWindowTooLarge is returned when an archive needs a zstd window larger
// than [MaxWindow].
var ErrWindowTooLarge = errors.New("zstd window too large")

// Extract unpacks the compressed tar r into dest, which must exist, and
// checks that the compressed bytes match want (see untar.Extract): a
// zstd-compressed one, refusing a zstd window larger than [MaxWindow]
// (before allocating it), or a gzip-compressed one (a slim bundle's source
// part; see [Source]). When r is an io.ReadSeeker the check comes before
// anything is decompressed (untar.Verify): a corrupt part writes nothing.
func Extract(r io.Reader, dest string, want bundle.Part) error {
	if rs, ok := r.(io.ReadSeeker); ok {
		if err := untar.Verify(rs, want); err != nil {
			return err
		}
	}
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return untar.Extract(br, dest, want, func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) })
	}
	err := untar.Extract(br, dest, want, func(r io.Reader) (io.ReadCloser, error) {
		zr, err := newDecoder(r)
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	})
	return windowError(err)
}

// checkWindow reads the first frame header without consuming it and
// refuses a window above MaxWindow with a message that says how large it
// is. The decoder's own limit (WithDecoderMaxWindow) covers later frames.
func checkWindow(br *bufio.Reader) error {
	head, err := br.Peek(zstd.HeaderMaxSize)
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading archive: %w", err)
	}
	var zh zstd.Header
	if zh.Decode(head) != nil {
		return nil // not a frame header: the decoder says what is wrong
	}
	window := zh.WindowSize
	if zh.SingleSegment {
		window = zh.FrameContentSize // the whole frame is the window
	}
	if window > MaxWindow {
		return fmt.Errorf("%w: the archive needs a %d MiB window, more than the %d MiB this reader accepts: the bundle is corrupt or was written by an incompatible go-selfcompile", ErrWindowTooLarge, window>>20, MaxWindow>>20)
	}
	return nil
}
