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

// ManifestInBinary finds the manifest of the bundle a built binary
// carries (ELF, Mach-O or PE, for any platform) and decodes it. A binary
// that carries none gives ErrNoManifest.
func ManifestInBinary(name string) (*Manifest, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	for off := 0; ; {
		i := bytes.Index(data[off:], manifestStart)
		if i < 0 {
			return nil, fmt.Errorf("%s: %w", name, ErrNoManifest)
		}
		off += i
		var m Manifest
		if json.NewDecoder(bytes.NewReader(data[off:])).Decode(&m) == nil && m.Format > 0 && len(m.Parts) > 0 {
			if m.Format != FormatVersion {
				return &m, fmt.Errorf("%s: bundle format %d, this go-selfcompile reads %d", name, m.Format, FormatVersion)
			}
			return &m, nil
		}
		off += len(manifestStart)
	}
}
