package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// manifestStart is how every manifest Marshal writes begins; a binary
// carries its bundle's manifest verbatim (go:embed stores files as they
// are), whatever its executable format.
var manifestStart = []byte("{\n\t\"format\": ")

// ErrNoManifest is returned by ManifestInBinary for a file that carries no
// bundle manifest.
var ErrNoManifest = errors.New("no go-selfcompile bundle manifest in the file")

// MaxManifestSize is the largest manifest ManifestInBinary and
// ReadManifestFile parse: a crafted file must not cost unbounded time or
// memory to read. A manifest of a host with 200 modules is some tens of
// kB.
const MaxManifestSize = 4 << 20

// maxCandidates bounds how many places that begin like a manifest
// ManifestInBinary tries to decode: a binary has one or two (the
// manifest, and manifestStart itself), and each failed try of a crafted
// one may cost up to MaxManifestSize of parsing.
const maxCandidates = 64

// ManifestInBinary finds the manifest of the bundle a built binary
// carries (ELF, Mach-O or PE, for any platform) and decodes it. A binary
// that carries none gives ErrNoManifest. It reads at most
// MaxManifestSize bytes of a manifest, and tries at most a few dozen
// places.
func ManifestInBinary(name string) (*Manifest, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	for off, tries := 0, 0; tries < maxCandidates; tries++ {
		i := bytes.Index(data[off:], manifestStart)
		if i < 0 {
			break
		}
		off += i
		var m Manifest
		end := min(len(data), off+MaxManifestSize)
		if json.NewDecoder(bytes.NewReader(data[off:end])).Decode(&m) == nil && m.Format > 0 && len(m.Parts) > 0 {
			if m.Format != FormatVersion {
				return &m, fmt.Errorf("%s: bundle format %d, this go-selfcompile reads %d", name, m.Format, FormatVersion)
			}
			return &m, nil
		}
		off += len(manifestStart)
	}
	return nil, fmt.Errorf("%s: %w", name, ErrNoManifest)
}
