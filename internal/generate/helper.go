package generate

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// buildHelper builds the helper (the go-selfcompile command) for p, in the host's module so that it is the version of
// go-selfcompile the host links, and compresses it for the helper part:
// one gzip stream, which the host unpacks with the standard library alone.
// CGO_ENABLED=0: it must run wherever the host runs.
func (g *generator) buildHelper(ctx context.Context, tmp string, p platform) (string, bundle.Part, error) {
	exe := filepath.Join(tmp, "helper-"+p.goos+"_"+p.goarch, bundle.HelperName)
	if p.goos == "windows" {
		exe += ".exe"
	}
	_, err := g.run.Run(ctx, gocmd.Invocation{
		Verb:       "build",
		Args:       []string{"-trimpath", "-ldflags=-s -w", "-o", exe, bundle.HelperPackage},
		Env:        append(p.env(), "CGO_ENABLED=0"),
		WorkingDir: g.dir,
	})
	if err != nil {
		return "", bundle.Part{}, fmt.Errorf("building the rebuild helper %s for %s: %w", bundle.HelperPackage, p, err)
	}
	gz := exe + ".gz"
	if err := gzipFile(exe, gz); err != nil {
		return "", bundle.Part{}, fmt.Errorf("compressing the rebuild helper: %w", err)
	}
	part, err := archive.FilePart(gz)
	return gz, part, err
}

// gzipFile writes src gzip-compressed at the best level to dst.
func gzipFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return bundle.CreateAtomic(dst, 0o644, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := io.Copy(zw, in); err != nil {
			return err
		}
		return zw.Close()
	})
}
