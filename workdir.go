package selfcompile

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/helper"
)

// unpackHelper unpacks the bundled helper into the work directory. The
// part is one gzip-compressed executable (the standard library's gzip
// checks its CRC-32 and length): a host links no other decompressor.
func (j *job) unpackHelper() error {
	name := bundle.HelperName
	if j.info.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(j.work, name)
	if err := copyPart(j, bundle.HelperFile, bin, 0o700, gunzip); err != nil {
		return fmt.Errorf("unpacking the helper: %w", err)
	}
	// The helper runs in the host's environment; internal/gocmd decides
	// what of it the go command sees.
	j.helper = helper.Helper{Bin: bin, Dir: j.work}
	return nil
}

// layOutBundle writes the bundle's files into the work directory, for the
// helper to read: the rebuild starts from them, and the new binary's
// bundle copies the parts that do not change.
func (j *job) layOutBundle() error {
	dir := filepath.Join(j.work, "bundle")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	parts := bundle.Parts
	if j.info.Slim != nil {
		parts = bundle.SlimParts
	}
	for _, name := range slices.Concat([]string{bundle.ManifestFile}, parts, bundle.OptionalParts) {
		err := copyPart(j, name, filepath.Join(dir, name), 0o600, nil)
		if errors.Is(err, fs.ErrNotExist) && slices.Contains(bundle.OptionalParts, name) {
			continue
		}
		if err != nil {
			return fmt.Errorf("laying out the bundle: %w", err)
		}
	}
	j.request.Bundle, j.request.Work, j.request.Cache, j.request.ModCache = dir, j.work, j.cache, j.modCache
	j.request.Output = filepath.Join(j.work, "out", filepath.Base(j.target))
	return os.MkdirAll(filepath.Dir(j.request.Output), 0o700)
}

// copyPart copies the bundle file name to dst, through filter when set.
func copyPart(j *job, name, dst string, perm os.FileMode, filter func(io.Reader) (io.Reader, error)) (err error) {
	src, err := j.fsys.Open(name)
	if err != nil {
		return err
	}
	defer src.Close()
	var r io.Reader = src
	if filter != nil {
		if r, err = filter(src); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func gunzip(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
