package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// Source is where [Write] gets one part from: files to archive, or an
// archive that already exists (the toolchain a rebuild carries on, a
// cached one), copied byte for byte and checked against Part on the way.
type Source struct {
	// Entries are the files to archive at Level, with a zstd window of
	// Window bytes (0: the default; see [WriteArchiveWindow]).
	Entries []bundle.Entry
	Level   Level
	Window  int
	// Open, when set, opens the existing archive to copy; Part is its
	// checksum and size.
	Open func() (io.ReadCloser, error)
	Part bundle.Part
	// Framed writes Entries as a framed archive (see WriteFramed),
	// copying Reuse's frames where it can.
	Framed bool
	Reuse  *Reuse
	// Gzip writes Entries as a gzip-compressed tar instead (a slim
	// bundle's source part: see WriteGzipArchive).
	Gzip bool
	// Done says the part is already in place with checksum and size Part
	// (and, for the modules part, Frames): a part one platform of a
	// bundle shares with the others, written once.
	Done   bool
	Frames map[string]bundle.Frame
}

// Written is the Source of a part already written as p (with the module
// frames of a modules part).
func Written(p bundle.Part, frames map[string]bundle.Frame) Source {
	return Source{Done: true, Part: p, Frames: frames}
}

// Archive is a Source of files to archive at level.
func Archive(entries []bundle.Entry, level Level) Source {
	return Source{Entries: entries, Level: level}
}

// Copy is a Source that copies the archive open returns, which must match p.
func Copy(open func() (io.ReadCloser, error), p bundle.Part) Source {
	return Source{Open: open, Part: p}
}

// Write writes a bundle into dir: every part in parts (each atomically),
// then m as its manifest with the parts' checksums and sizes, then the
// generated stub that embeds them. parts must hold every name of
// [bundle.Parts], and may hold the [bundle.OptionalParts].
// It returns the manifest written; m is not modified.
func Write(dir string, m bundle.Manifest, parts map[string]Source) (*bundle.Manifest, error) {
	return WritePlatform(dir, m, parts, nil)
}

// WritePlatform is [Write] for the platform of m in a bundle generated for
// several platforms: its files are named by [bundle.PlatformFile] and its
// stub by [bundle.PlatformStub]. With platforms nil it is Write.
func WritePlatform(dir string, m bundle.Manifest, parts map[string]Source, platforms []string) (*bundle.Manifest, error) {
	file := func(name string) string {
		if platforms == nil {
			return name
		}
		return bundle.PlatformFile(name, m.GOOS, m.GOARCH)
	}
	m.Format = bundle.FormatVersion
	m.Parts = map[string]bundle.Part{}
	m.Plugins = append([]bundle.Plugin(nil), m.Plugins...)
	var names []string
	for _, name := range slices.Concat(m.Required(), bundle.OptionalParts) {
		if _, ok := parts[name]; !ok {
			if slices.Contains(bundle.OptionalParts, name) {
				continue
			}
			return nil, fmt.Errorf("writing the bundle: no source for %s", name)
		}
		names = append(names, name)
	}
	written, err := writeParts(dir, names, file, parts)
	if err != nil {
		return nil, err
	}
	for name, w := range written {
		m.Parts[name] = w.Part
		if name == bundle.ModulesFile {
			m.ModuleFrames = w.Frames
		}
	}
	data, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	if err := bundle.WriteFileAtomic(filepath.Join(dir, file(bundle.ManifestFile)), data, 0o644); err != nil {
		return nil, err
	}
	return &m, bundle.WriteFileAtomic(filepath.Join(dir, file(bundle.StubFile)), bundle.PlatformStub(&m, platforms), 0o644)
}

// WriteParts writes parts into dir, each in the file of its name, as
// [Write] does, ahead of it: it returns them as written ([Written]), for
// the Write that follows.
func WriteParts(dir string, parts map[string]Source) (map[string]Source, error) {
	return writeParts(dir, slices.Sorted(maps.Keys(parts)), func(name string) string { return name }, parts)
}

// writeParts writes the parts names of parts into dir, in the files that
// file names, side by side: copying one is disk and checksum work,
// compressing another processor work. It returns them as written.
func writeParts(dir string, names []string, file func(string) string, parts map[string]Source) (map[string]Source, error) {
	written := make([]Source, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			p, frames, err := writePart(filepath.Join(dir, file(name)), parts[name])
			if err != nil {
				errs[i] = fmt.Errorf("writing %s: %w", name, err)
				return
			}
			written[i] = Written(p, frames)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := map[string]Source{}
	for i, name := range names {
		out[name] = written[i]
	}
	return out, nil
}

func writePart(name string, src Source) (p bundle.Part, frames map[string]bundle.Frame, err error) {
	if src.Done {
		return src.Part, src.Frames, nil
	}
	err = bundle.CreateAtomic(name, 0o644, func(w io.Writer) error {
		switch {
		case src.Framed:
			p, frames, err = WriteFramed(w, src.Entries, src.Level, src.Reuse)
		case src.Gzip:
			p, err = WriteGzipArchive(w, src.Entries)
		case src.Open == nil:
			p, err = WriteArchiveWindow(w, src.Entries, src.Level, src.Window)
		default:
			p, err = copyChecked(w, src.Open, src.Part)
		}
		return err
	})
	return p, frames, err
}

// copyChecked copies an existing archive and checks it against want: a
// corrupt copy is never written into a bundle.
func copyChecked(w io.Writer, open func() (io.ReadCloser, error), want bundle.Part) (bundle.Part, error) {
	r, err := open()
	if err != nil {
		return bundle.Part{}, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		return bundle.Part{}, err
	}
	got := bundle.Part{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	if got != want {
		return bundle.Part{}, fmt.Errorf("%w: the archive to copy has sha256 %s (%d bytes), want %s (%d bytes)", ErrChecksum, got.SHA256, got.Size, want.SHA256, want.Size)
	}
	return got, nil
}

// FilePart returns the checksum and size of the file name, as a manifest
// records a part.
func FilePart(name string) (bundle.Part, error) {
	f, err := os.Open(name)
	if err != nil {
		return bundle.Part{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return bundle.Part{}, err
	}
	return bundle.Part{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}
