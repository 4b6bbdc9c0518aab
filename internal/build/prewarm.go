package build

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// Prewarm adds the compiled standard packages of the bundle's
// bundle.StdCacheFile part (made by bundle -prewarm) to the go command's
// build cache gocache, once per part; entries already there are kept. It
// returns how many it added.
func Prewarm(fsys fs.FS, m *bundle.Manifest, gocache string) (int, error) {
	part, ok := m.Parts[bundle.StdCacheFile]
	if !ok {
		return 0, nil
	}
	marker := filepath.Join(gocache, ".selfcompile-prewarmed-"+part.SHA256[:16])
	if _, err := os.Stat(marker); err == nil {
		return 0, nil
	}
	if err := os.MkdirAll(gocache, 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(gocache, ".prewarm-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if err := ExtractPart(fsys, m, bundle.StdCacheFile, tmp); err != nil {
		return 0, err
	}
	added := 0
	err = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmp, p)
		dst := filepath.Join(gocache, rel)
		if _, err := os.Stat(dst); err == nil {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Rename(p, dst); err != nil {
			return err
		}
		added++
		return nil
	})
	if err != nil {
		return added, err
	}
	return added, os.WriteFile(marker, nil, 0o644)
}
