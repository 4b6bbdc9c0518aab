package generate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
)

// zstdCommand returns the zstd command to compress the toolchain with and
// its version line, or "" to use the zstd package.
func (g *generator) zstdCommand(ctx context.Context) (string, string, error) {
	name := g.opts.Compressor
	if name == "go" || g.opts.Level != archive.LevelBest {
		return "", "", nil
	}
	auto := name == "" || name == "auto"
	if auto {
		name = "zstd"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if auto {
			return "", "", nil
		}
		return "", "", fmt.Errorf("compressor %q: %w", name, err)
	}
	out, err := output(command(ctx, p, "-V"))
	version := ""
	for _, f := range strings.Fields(string(out)) { // "*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***"
		if strings.HasPrefix(f, "v1.") {
			version = "zstd " + strings.TrimSuffix(f, ",")
			break
		}
	}
	if err != nil || version == "" {
		if auto {
			return "", "", nil
		}
		return "", "", fmt.Errorf("compressor %q: not a zstd command (-V: %q, %v)", name, out, err)
	}
	return p, version, nil
}

// compressWithCommand writes entries as a tar into the zstd command at the
// best level with a LongWindow window, atomically into name, then decodes
// the result with the reader's decoder and compares it with the tar.
func compressWithCommand(ctx context.Context, name string, entries []bundle.Entry, zstdCmd string) (part bundle.Part, err error) {
	windowLog := bits.Len(uint(archive.LongWindow)) - 1
	tarSum := sha256.New()
	err = bundle.CreateAtomic(name, 0o644, func(w io.Writer) error {
		pr, pw := io.Pipe()
		tarDone := make(chan error, 1)
		go func() {
			err := archive.WriteTar(io.MultiWriter(tarSum, pw), entries)
			pw.CloseWithError(err)
			tarDone <- err
		}()
		var stderr bytes.Buffer
		cmd := command(ctx, zstdCmd, "-q", "-c", "-19", fmt.Sprintf("--long=%d", windowLog), "-T1", "--no-progress")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pr, w, &stderr
		err := run(cmd)
		pr.CloseWithError(io.ErrClosedPipe) // stop the tar writer if zstd stopped early
		if terr := <-tarDone; terr != nil && err == nil {
			err = terr
		}
		if err != nil {
			return fmt.Errorf("%s: %v: %s", zstdCmd, err, bytes.TrimSpace(stderr.Bytes()))
		}
		return nil
	})
	if err != nil {
		return part, err
	}
	if part, err = archive.FilePart(name); err != nil {
		return part, err
	}
	f, err := os.Open(name)
	if err != nil {
		return part, err
	}
	defer f.Close()
	got, err := archive.DecodedSHA256(f)
	if want := hex.EncodeToString(tarSum.Sum(nil)); err != nil || got != want {
		os.Remove(name)
		return part, fmt.Errorf("the toolchain archive %s wrote does not decode to the tar it was given (%v): use -compressor go", zstdCmd, err)
	}
	return part, nil
}

// writeArchiveFile writes entries as an archive at name, atomically, with
// a LongWindow window.
func writeArchiveFile(name string, entries []bundle.Entry, level archive.Level) (part bundle.Part, err error) {
	err = bundle.CreateAtomic(name, 0o644, func(w io.Writer) error {
		part, err = archive.WriteArchiveWindow(w, entries, level, archive.LongWindow)
		return err
	})
	return part, err
}
