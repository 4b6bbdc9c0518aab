package archive

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/modtrim"
)

// A framed archive is the tar stream WriteTar would write, compressed as
// one zstd frame per module of a module cache (entries "path@version/..."),
// then one frame for every other entry (the download cache's metadata,
// local plugin copies), then one that ends the tar stream. Extract reads
// it like any archive: a zstd stream may hold any number of frames. What
// it allows is reuse: a rebuild's new modules part copies, byte for byte,
// the compressed frames of the modules the running binary's part already
// holds, and compresses only the modules that are new. A module in a
// module cache never changes, so its frame does not either.

// Reuse is an earlier framed archive whose frames may be copied: Open
// opens it, Frames says where each module's frame lies.
type Reuse struct {
	Open   func() (io.ReadCloser, error)
	Frames map[string]bundle.Frame
}

// Framed is a Source of module cache entries written as a framed archive
// at level, copying the frames of reuse (which may be nil) where it can.
func Framed(entries []bundle.Entry, level Level, reuse *Reuse) Source {
	return Source{Entries: entries, Level: level, Framed: true, Reuse: reuse}
}

// WriteFramed writes entries as a framed archive to w and returns its
// checksum and size and where each module's frame lies. Frames of reuse
// are copied for the modules it has; the rest are compressed at level.
func WriteFramed(w io.Writer, entries []bundle.Entry, level Level, reuse *Reuse) (bundle.Part, map[string]bundle.Frame, error) {
	groups := map[string][]bundle.Entry{}
	for _, e := range entries {
		k := modtrim.ModuleKey(e.Name)
		groups[k] = append(groups[k], e)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		if k != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return bundle.Part{}, nil, err
	}
	frame := func(es []bundle.Entry, end bool) error {
		enc.Reset(cw)
		tw := tar.NewWriter(enc)
		sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
		for _, e := range es {
			if err := addFile(tw, e); err != nil {
				enc.Close()
				return err
			}
		}
		var err error
		if end {
			err = tw.Close() // the two zero blocks that end the stream
		} else {
			err = tw.Flush() // the last entry's padding; the stream goes on
		}
		if err != nil {
			enc.Close()
			return err
		}
		return enc.Close()
	}
	old := &frameCopier{reuse: reuse}
	defer old.close()
	frames := map[string]bundle.Frame{}
	for _, k := range keys {
		start := cw.n
		digest := FilesDigest(groups[k])
		copied, err := old.copy(cw, k, digest)
		if err != nil {
			return bundle.Part{}, nil, err
		}
		if !copied {
			if err := frame(groups[k], false); err != nil {
				return bundle.Part{}, nil, err
			}
		}
		frames[k] = bundle.Frame{Offset: start, Size: cw.n - start, Files: digest}
	}
	if err := frame(groups[""], true); err != nil {
		return bundle.Part{}, nil, err
	}
	return bundle.Part{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, frames, nil
}

// FilesDigest is the digest of the names of entries (bundle.Frame.Files):
// the hex sha256 of the sorted names, one a line.
func FilesDigest(entries []bundle.Entry) string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	sort.Strings(names)
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hex.EncodeToString(sum[:16])
}

// frameCopier reads an earlier framed archive once, front to back: frames
// are asked for in the order they were written.
type frameCopier struct {
	reuse *Reuse
	r     io.ReadCloser
	pos   int64
	err   error // opening failed: copy nothing
}

// copy copies the frame of module k to w, if the earlier archive has it
// further on, holding the files whose names have the digest files.
func (c *frameCopier) copy(w io.Writer, k, files string) (bool, error) {
	if c.reuse == nil || c.err != nil {
		return false, nil
	}
	f, ok := c.reuse.Frames[k]
	if !ok || f.Files != files || f.Offset < c.pos || f.Size <= 0 {
		return false, nil
	}
	if c.r == nil {
		if c.r, c.err = c.reuse.Open(); c.err != nil {
			return false, nil
		}
	}
	if _, err := io.CopyN(io.Discard, c.r, f.Offset-c.pos); err != nil {
		return false, fmt.Errorf("reading the earlier archive: %w", err)
	}
	if _, err := io.CopyN(w, c.r, f.Size); err != nil {
		return false, fmt.Errorf("copying the frame of %s: %w", k, err)
	}
	c.pos = f.Offset + f.Size
	return true, nil
}

func (c *frameCopier) close() {
	if c.r != nil {
		c.r.Close()
	}
}
