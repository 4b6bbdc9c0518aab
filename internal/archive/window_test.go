package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// TestLongWindowRoundTrip archives a file that repeats at a distance of
// 9 MiB, beyond the default 8 MiB window: with LongWindow the repeat is
// found, the frame header says 128 MiB, and the archive extracts.
func TestLongWindowRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	chunk := make([]byte, 1<<20)
	rng.Read(chunk)
	filler := make([]byte, 9<<20)
	rng.Read(filler)
	src := t.TempDir()
	files := map[string][]byte{"a/first": chunk, "b/filler": filler, "c/again": chunk}
	var entries []bundle.Entry
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, bundle.Entry{Name: name, Src: p})
	}
	var short, long bytes.Buffer
	if _, err := WriteArchive(&short, entries, LevelFast); err != nil {
		t.Fatal(err)
	}
	part, err := WriteArchiveWindow(&long, entries, LevelFast, LongWindow)
	if err != nil {
		t.Fatal(err)
	}
	var h zstd.Header
	if err := h.Decode(long.Bytes()); err != nil || h.WindowSize != LongWindow {
		t.Errorf("long-window frame header: window %d (%v), want %d", h.WindowSize, err, LongWindow)
	}
	// The repeated 1 MiB is stored once with the long window only.
	if saved := short.Len() - long.Len(); saved < 512<<10 {
		t.Errorf("long window archive is %d bytes, default window %d: the repeat 9 MiB back was not found", long.Len(), short.Len())
	}
	dest := t.TempDir()
	if err := Extract(bytes.NewReader(long.Bytes()), dest, part); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: %d bytes, %v; want %d bytes", name, len(got), err, len(body))
		}
	}
	if _, err := WriteArchiveWindow(&bytes.Buffer{}, entries, LevelFast, 2*MaxWindow); err == nil {
		t.Error("WriteArchiveWindow wrote an archive with a window Extract refuses")
	}
}

// TestExtractRefusesHugeWindow hands Extract frame headers that ask for
// more memory than MaxWindow: a 512 MiB window, and a single-segment frame
// that declares 1 TiB of content. Both are refused before any allocation,
// with a message that names the size.
func TestExtractRefusesHugeWindow(t *testing.T) {
	emptyLastBlock := []byte{0x01, 0x00, 0x00} // last, raw, 0 bytes
	magic := []byte{0x28, 0xb5, 0x2f, 0xfd}
	windowed := append(append(append([]byte{}, magic...), 0x00, byte(29-10)<<3), emptyLastBlock...) // 1<<29
	fcs := binary.LittleEndian.AppendUint64(nil, 1<<40)
	single := append(append(append(append([]byte{}, magic...), 0xe0), fcs...), emptyLastBlock...)
	ok := append(append(append([]byte{}, magic...), 0x00, byte(27-10)<<3), emptyLastBlock...) // LongWindow
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"window 512 MiB", windowed, "512 MiB window"},
		{"single segment 1 TiB", single, "1048576 MiB window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Extract(bytes.NewReader(tc.frame), t.TempDir(), partOf(tc.frame))
			if !errors.Is(err, ErrWindowTooLarge) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "256 MiB") {
				t.Errorf("Extract: %v, want ErrWindowTooLarge naming %q and the 256 MiB limit", err, tc.want)
			}
		})
	}
	// A 128 MiB window passes the check (the empty frame is then not a
	// tar archive, or an empty one: either way not a window error).
	if err := Extract(bytes.NewReader(ok), t.TempDir(), partOf(ok)); errors.Is(err, ErrWindowTooLarge) {
		t.Errorf("Extract refused a %d MiB window: %v", LongWindow>>20, err)
	}
}
