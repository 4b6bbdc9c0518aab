package rebuildkey

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ToolchainDigest identifies the toolchain installed at goroot, wherever
// it came from (the bundle, a download, another toolchain chosen for the
// build): a sha256 over its VERSION file and every file under bin and
// pkg/tool (the go command, compiler, assembler and linker), names and
// contents. The standard library's sources are not read: for one
// VERSION they are the same in every release archive, and hashing them
// would cost a second on every rebuild.
func ToolchainDigest(goroot string) (version, digest string, err error) {
	data, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return "", "", fmt.Errorf("reading the toolchain's version: %w", err)
	}
	version, _, _ = strings.Cut(string(data), "\n")
	h := sha256.New()
	fmt.Fprintf(h, "VERSION %q\n", data)
	for _, dir := range []string{"bin", filepath.Join("pkg", "tool")} {
		root := filepath.Join(goroot, dir)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, _ := filepath.Rel(goroot, path)
			fmt.Fprintf(h, "file %q\n", filepath.ToSlash(rel))
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(h, f)
			return err
		})
		if err != nil {
			return "", "", fmt.Errorf("reading the toolchain at %s: %w", goroot, err)
		}
	}
	return version, hex.EncodeToString(h.Sum(nil)), nil
}
