package rebuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// samePlugins reports whether a and b are the same plugin set: paths,
// modules and versions, in any order.
func samePlugins(a, b []bundle.Plugin) bool {
	return slices.Equal(pluginKeys(a), pluginKeys(b))
}

func pluginKeys(ps []bundle.Plugin) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Path+" "+p.Module+" "+p.Version)
	}
	slices.Sort(out)
	return out
}

func pluginList(ps []bundle.Plugin) string {
	if len(ps) == 0 {
		return "no plugins"
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Path+"@"+p.Version)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// userinfo matches the credentials of a URL in an error message.
var userinfo = regexp.MustCompile(`(://)[^/@\s]+@`)

// redact removes credentials from a URL an error message may quote.
func redact(err error) string {
	return userinfo.ReplaceAllString(err.Error(), "${1}REDACTED@")
}

func humanBytes(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// fetchedBundle writes the bundle files a second rebuild from this
// process reads (the manifest, source and modules parts) out of the
// fetched binary name into dir: go:embed stores each file as it is, so
// each part is found as the bytes of its sha256 and size, beginning
// with its compression's magic number.
func fetchedBundle(name string, m *bundle.Manifest, dir string) (string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	man, err := m.Marshal()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestFile), man, 0o600); err != nil {
		return "", err
	}
	for _, part := range []string{bundle.SourceFile, bundle.ModulesFile} {
		p, ok := m.Parts[part]
		if !ok {
			continue
		}
		at := findPart(data, p, m.ModuleFrames, part == bundle.ModulesFile)
		if at < 0 {
			return "", fmt.Errorf("the fetched binary's %s was not found in it", part)
		}
		if err := os.WriteFile(filepath.Join(dir, part), data[at:at+int(p.Size)], 0o600); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// findPart returns where in data the part p lies, or -1. A part is zstd
// (or, in a slim bundle, gzip) data; the modules part has a frame at each
// of frames' offsets, which rules out most places before any is hashed.
func findPart(data []byte, p bundle.Part, frames map[string]bundle.Frame, modules bool) int {
	want, err := hex.DecodeString(p.SHA256)
	if err != nil {
		return -1
	}
	zstdMagic := []byte{0x28, 0xb5, 0x2f, 0xfd}
	hashed := 0
	for _, magic := range [][]byte{zstdMagic, {0x1f, 0x8b}} {
		for off := 0; hashed < 256; off++ {
			i := bytes.Index(data[off:], magic)
			if i < 0 {
				break
			}
			off += i
			if off+int(p.Size) > len(data) {
				break
			}
			if modules && !framesAt(data, off, frames, zstdMagic) {
				continue
			}
			hashed++
			if sum := sha256.Sum256(data[off : off+int(p.Size)]); bytes.Equal(sum[:], want) {
				return off
			}
		}
	}
	return -1
}

func framesAt(data []byte, at int, frames map[string]bundle.Frame, magic []byte) bool {
	for _, f := range frames {
		o := at + int(f.Offset)
		if o+len(magic) > len(data) || !bytes.Equal(data[o:o+len(magic)], magic) {
			return false
		}
	}
	return true
}
