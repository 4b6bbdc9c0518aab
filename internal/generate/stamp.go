package generate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// sourceStamp records what the bundle is made from: the digest of its
// source entries, and the git state of the tree when go build's stamp of
// a binary can be compared with it (see bundle.SourceStamp).
func (g *generator) sourceStamp(ctx context.Context, modRoot string, entries []bundle.Entry) (*bundle.SourceStamp, error) {
	d, err := digest(entries)
	if err != nil {
		return nil, err
	}
	s := &bundle.SourceStamp{Digest: d}
	s.Revision, s.Modified = gitState(ctx, modRoot, filepath.Join(g.dir, bundle.StubFile))
	return s, nil
}

// digest is the sha256 of entries' names and contents, in name order.
func digest(entries []bundle.Entry) (string, error) {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b bundle.Entry) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, e := range sorted {
		f, err := os.Open(e.Src)
		if err != nil {
			return "", err
		}
		fh := sha256.New()
		_, err = io.Copy(fh, f)
		f.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%x  %s\n", fh.Sum(nil), e.Name)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// gitState is the revision of the git work tree holding dir and whether
// it is modified, as the go command stamps them into a binary
// (git status --porcelain not empty), when the bundle file stub is
// ignored by git: otherwise writing the bundle changes the state go
// build stamps, and the two cannot be compared ("" and false).
func gitState(ctx context.Context, dir, stub string) (string, bool) {
	git := func(args ...string) (string, error) {
		out, err := output(command(ctx, "git", append([]string{"-C", dir}, args...)...))
		return strings.TrimSpace(string(out)), err
	}
	rev, err := git("rev-parse", "HEAD")
	if err != nil || rev == "" {
		return "", false
	}
	if _, err := git("check-ignore", "-q", stub); err != nil {
		return "", false
	}
	status, err := git("status", "--porcelain")
	if err != nil {
		return "", false
	}
	return rev, status != ""
}

// ErrStale is what Check returns, wrapped, for a bundle that no longer
// matches the tree.
var ErrStale = errors.New("the bundle is stale")

// Check compares the bundle generated in opts.Dir with the tree it would
// be generated from now, without writing anything: an error wrapping
// ErrStale when the host's build inputs changed since, for CI and
// release scripts.
func Check(ctx context.Context, opts Options) error {
	dir, err := filepath.Abs(cmp.Or(opts.Dir, "."))
	if err != nil {
		return err
	}
	g := &generator{dir: dir, opts: opts, run: newRunner()}
	_, modRoot, _, err := g.loadHost(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "go-selfcompile-check-*")
	if err != nil {
		return err
	}
	defer removeAll(tmp)
	entries, err := g.sourceEntries(ctx, modRoot, tmp)
	if err != nil {
		return err
	}
	now, err := digest(entries)
	if err != nil {
		return err
	}
	m, err := generatedManifest(dir)
	if err != nil {
		return err
	}
	switch {
	case m.Source == nil:
		return fmt.Errorf("%w: the bundle in %s records no source digest (made by an older go-selfcompile): run go generate", ErrStale, dir)
	case m.Source.Digest != now:
		return fmt.Errorf("%w: the host's build inputs changed since the bundle in %s was generated: run go generate", ErrStale, dir)
	}
	return nil
}

// generatedManifest reads the manifest generated in dir, or the first of
// a bundle generated for several platforms (they share the source part).
func generatedManifest(dir string) (*bundle.Manifest, error) {
	fsys := os.DirFS(dir)
	name := bundle.ManifestFile
	if _, err := fs.Stat(fsys, name); err != nil {
		glob := strings.Replace(bundle.PlatformFile(bundle.ManifestFile, "GOOS", "GOARCH"), "GOOS_GOARCH", "*_*", 1)
		if names, _ := fs.Glob(fsys, glob); len(names) > 0 {
			name = names[0]
		}
	}
	return bundle.ReadManifestFile(fsys, name)
}
