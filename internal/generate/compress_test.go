package generate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

func testEntries(t *testing.T) []bundle.Entry {
	t.Helper()
	dir := t.TempDir()
	var entries []bundle.Entry
	for i, body := range []string{"package a\n", strings.Repeat("tables ", 5000), "x"} {
		p := filepath.Join(dir, string(rune('a'+i)))
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, bundle.Entry{Name: "go/src/" + string(rune('a'+i)), Src: p})
	}
	return entries
}

// TestCompressWithCommand compresses with the zstd command on PATH and
// reads the result with the bundle reader: same files, 128 MiB window.
func TestCompressWithCommand(t *testing.T) {
	zstdCmd := testkit.NeedCommand(t, "zstd")
	entries := testEntries(t)
	name := filepath.Join(t.TempDir(), "tc.tar.zst")
	part, err := compressWithCommand(context.Background(), name, entries, zstdCmd)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var h zstd.Header
	if err := h.Decode(data); err != nil || h.WindowSize != archive.LongWindow {
		t.Errorf("frame window %d (%v), want %d", h.WindowSize, err, archive.LongWindow)
	}
	dest := t.TempDir()
	if err := archive.Extract(bytes.NewReader(data), dest, part); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		want, _ := os.ReadFile(e.Src)
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(e.Name)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %q, %v", e.Name, got, err)
		}
	}
}

// TestCompressWithCommandChecksOutput gives a "zstd" that writes a valid
// zstd stream of something else: the archive is refused and removed.
func TestCompressWithCommandChecksOutput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script")
	}
	var other bytes.Buffer
	if _, err := archive.WriteArchive(&other, testEntries(t)[:1], archive.LevelFast); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	canned := filepath.Join(dir, "canned.zst")
	os.WriteFile(canned, other.Bytes(), 0o644)
	fake := filepath.Join(dir, "zstd")
	os.WriteFile(fake, []byte("#!/bin/sh\ncat >/dev/null\ncat '"+canned+"'\n"), 0o755)
	name := filepath.Join(dir, "tc.tar.zst")
	_, err := compressWithCommand(context.Background(), name, testEntries(t), fake)
	if err == nil || !strings.Contains(err.Error(), "does not decode to the tar") {
		t.Errorf("compressWithCommand with a wrong compressor: %v", err)
	}
	if _, serr := os.Stat(name); serr == nil {
		t.Error("the wrong archive was left in place")
	}
}
