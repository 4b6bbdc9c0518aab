package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
)

// Source is where [Write] gets one part from: files to archive, or an
// archive that already exists (the toolchain a rebuild carries on, a
// cached one), copied byte for byte and checked against Part on the way.
type Source struct {
	// Entries are the files to archive at Level, with a zstd window of
	// Window bytes (0: the default; see [WriteArchiveWindow]).
	Entries []Entry
	Level   Level
	Window  int
	// Open, when set, opens the existing archive to copy; Part is its
	// checksum and size.
	Open func() (io.ReadCloser, error)
	Part Part
}

// Archive is a Source of files to archive at level.
func Archive(entries []Entry, level Level) Source { return Source{Entries: entries, Level: level} }

// Copy is a Source that copies the archive open returns, which must match p.
func Copy(open func() (io.ReadCloser, error), p Part) Source { return Source{Open: open, Part: p} }

// Write writes a bundle into dir: every part in parts (each atomically),
// then m as its manifest with the parts' checksums and sizes, then the
// generated stub that embeds them. parts must hold every name of [Parts].
// It returns the manifest written; m is not modified.
func Write(dir string, m Manifest, parts map[string]Source) (*Manifest, error) {
	m.Format = FormatVersion
	m.Parts = map[string]Part{}
	m.Plugins = append([]Plugin(nil), m.Plugins...)
	for _, name := range Parts {
		src, ok := parts[name]
		if !ok {
			return nil, fmt.Errorf("writing the bundle: no source for %s", name)
		}
		p, err := writePart(filepath.Join(dir, name), src)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
		m.Parts[name] = p
	}
	data, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(dir, ManifestFile), data, 0o644); err != nil {
		return nil, err
	}
	return &m, WriteStub(dir)
}

func writePart(name string, src Source) (p Part, err error) {
	err = CreateAtomic(name, 0o644, func(w io.Writer) error {
		if src.Open == nil {
			p, err = WriteArchiveWindow(w, src.Entries, src.Level, src.Window)
			return err
		}
		p, err = copyChecked(w, src.Open, src.Part)
		return err
	})
	return p, err
}

// copyChecked copies an existing archive and checks it against want: a
// corrupt copy is never written into a bundle.
func copyChecked(w io.Writer, open func() (io.ReadCloser, error), want Part) (Part, error) {
	r, err := open()
	if err != nil {
		return Part{}, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		return Part{}, err
	}
	got := Part{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	if got != want {
		return Part{}, fmt.Errorf("%w: the archive to copy has sha256 %s (%d bytes), want %s (%d bytes)", ErrChecksum, got.SHA256, got.Size, want.SHA256, want.Size)
	}
	return got, nil
}
