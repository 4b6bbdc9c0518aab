package generate

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"

	"golang.org/x/mod/modfile"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
)

// sourceEntries archives the host module and each local replace
// directory as the source part lays them out (bundle.SourceModuleDir),
// with the archived go.mod rewritten to point at those copies.
func (g *generator) sourceEntries(ctx context.Context, modRoot, tmp string) ([]bundle.Entry, error) {
	data, err := os.ReadFile(filepath.Join(modRoot, "go.mod"))
	if err != nil {
		return nil, err
	}
	mf, err := modfile.Parse(filepath.Join(modRoot, "go.mod"), data, nil)
	if err != nil {
		return nil, err
	}
	entries, err := g.treeEntries(ctx, modRoot, bundle.SourceModuleDir)
	if err != nil {
		return nil, err
	}
	seen := map[string]string{} // directory -> archive prefix
	for _, r := range mf.Replace {
		if !modfile.IsDirectoryPath(r.New.Path) {
			continue
		}
		src := r.New.Path
		if !filepath.IsAbs(src) {
			src = filepath.Join(modRoot, src)
		}
		src = filepath.Clean(src)
		prefix, ok := seen[src]
		if !ok {
			prefix = bundle.SourceReplace(len(seen))
			seen[src] = prefix
			es, err := g.treeEntries(ctx, src, prefix)
			if err != nil {
				return nil, fmt.Errorf("bundling replace directory %s for %s: %w", r.New.Path, r.Old.Path, err)
			}
			entries = append(entries, es...)
		}
		if err := mf.AddReplace(r.Old.Path, r.Old.Version, "../"+prefix, ""); err != nil {
			return nil, err
		}
	}
	mf.Cleanup()
	rewritten, err := mf.Format()
	if err != nil {
		return nil, err
	}
	gomod := filepath.Join(tmp, "go.mod")
	if err := os.WriteFile(gomod, rewritten, 0o644); err != nil {
		return nil, err
	}
	entries = slices.DeleteFunc(entries, func(e bundle.Entry) bool { return e.Name == bundle.SourceGoMod })
	return append(entries, bundle.Entry{Name: bundle.SourceGoMod, Src: gomod}), nil
}

// treeEntries lists a module tree's build inputs (see srctree.Files)
// under prefix in the archive.
func (g *generator) treeEntries(ctx context.Context, root, prefix string) ([]bundle.Entry, error) {
	files, err := srctree.Files(ctx, g.run, root)
	if err != nil {
		return nil, err
	}
	out := make([]bundle.Entry, len(files))
	for i, f := range files {
		out[i] = bundle.Entry{Name: path.Join(prefix, f), Src: filepath.Join(root, filepath.FromSlash(f))}
	}
	return out, nil
}
