package tcache

import (
	"archive/zip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/selfcompile/go-selfcompile/internal/testuser"
	"github.com/selfcompile/go-selfcompile/internal/treeindex"
)

// writeModuleZip writes a golang.org/toolchain module zip holding files.
func writeModuleZip(t *testing.T, version string, files map[string]string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), version+".zip")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for rel, data := range files {
		w, err := zw.Create(ModulePath + "@" + version + "/" + rel)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return name
}

// InstallZip keeps what KeepFromZip keeps of a distribution, gives go.mod files
// their names back and executables their mode, and refuses a zip whose
// checksum is not the recorded one, leaving nothing behind.
func TestInstallZip(t *testing.T) {
	version := "v0.0.1-go1.99.0.linux-arm64"
	zipFile := writeModuleZip(t, version, map[string]string{
		"VERSION":                      "go1.99.0\n",
		"go.env":                       "GOPROXY=https://proxy.golang.org,direct\n",
		"go.mod":                       "module golang.org/toolchain\n",
		"README.md":                    "readme",
		"bin/go":                       "go",
		"bin/gofmt":                    "gofmt",
		"pkg/tool/linux_arm64/compile": "compile",
		"pkg/tool/linux_arm64/vet":     "vet",
		"pkg/include/funcdata.h":       "h",
		"src/_go.mod":                  "module std\n",
		"src/fmt/print.go":             "package fmt\n",
		"src/fmt/print_test.go":        "package fmt\n",
		"src/os/file_windows.go":       "package os\n",
		"src/os/file_linux.go":         "package os\n",
		"src/cmd/_go.mod":              "module cmd\n",
		"src/cmd/go/main.go":           "package main\n",
		"src/fmt/testdata/x":           "x",
	})
	sum, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if _, err := InstallZip(zipFile, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "linux", "arm64", cache); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("a zip with another checksum: %v, want a checksum mismatch", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(cache, "toolchain")); len(entries) != 0 {
		t.Errorf("a refused zip left %v", entries)
	}
	goroot, err := InstallZip(zipFile, sum, "linux", "arm64", cache)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(goroot, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(goroot, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(got)
	want := []string{"VERSION", "bin/go", "go.env", "pkg/include/funcdata.h", "pkg/tool/linux_arm64/compile", "src/fmt/print.go", "src/go.mod", "src/os/file_linux.go", "src/os/file_windows.go"}
	if !slices.Equal(got, want) {
		t.Errorf("installed %v\nwant      %v", got, want)
	}
	for _, exe := range []string{"bin/go", "pkg/tool/linux_arm64/compile"} {
		if fi, err := os.Stat(filepath.Join(goroot, exe)); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s: %v, mode %v: want executable", exe, err, fi.Mode())
		}
	}
	if again, ok := Installed(cache, sum); !ok || again != goroot {
		t.Errorf("Installed = %q, %v; want %q, true", again, ok, goroot)
	}
	// An altered file is found, and the toolchain extracted again.
	print := filepath.Join(goroot, "src", "fmt", "print.go")
	os.Chmod(print, 0o644)
	os.WriteFile(print, []byte("package fmt // altered\n"), 0o644)
	if _, ok := Installed(cache, sum); ok {
		t.Error("an altered toolchain counts as installed")
	}
	if _, err := InstallZip(zipFile, sum, "linux", "arm64", cache); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(print); string(data) != "package fmt\n" {
		t.Errorf("after a reinstall print.go is %q", data)
	}
}

// A toolchain another user installed, or planted with an index of their
// own that matches it, is not used: its index proves nothing.
func TestOtherUsersToolchainRefused(t *testing.T) {
	uid, gid := testuser.Need(t)
	version := "v0.0.1-go1.99.0.linux-amd64"
	zipFile := writeModuleZip(t, version, map[string]string{"VERSION": "go1.99.0\n", "bin/go": "go"})
	sum, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	goroot, err := InstallZip(zipFile, sum, "linux", "amd64", cache)
	if err != nil {
		t.Fatal(err)
	}
	// Their wrapper, and the index rewritten to match it.
	root := filepath.Dir(goroot)
	gobin := GoBin(goroot)
	os.Chmod(gobin, 0o755)
	if err := os.WriteFile(gobin, []byte("#!/bin/sh\nid >/tmp/pwned\n"), 0o555); err != nil {
		t.Fatal(err)
	}
	if err := treeindex.Write(filepath.Join(root, IndexFile), goroot, treeindex.Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := Installed(cache, sum); !ok {
		t.Fatal("the rewritten index does not match: the test plants nothing")
	}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := Installed(cache, sum); ok {
		t.Error("a toolchain another user owns counts as installed")
	}
	_, err = InstallZip(zipFile, sum, "linux", "amd64", cache)
	if err == nil || !strings.Contains(err.Error(), "refusing to trust "+root) {
		t.Errorf("InstallZip over another user's toolchain: %v, want a refusal naming %s", err, root)
	}
}
