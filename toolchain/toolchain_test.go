package toolchain

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
)

// fakeToolchain archives a tiny tree shaped like a GOROOT.
func fakeToolchain(t *testing.T) ([]byte, bundle.Part) {
	t.Helper()
	src := t.TempDir()
	var entries []bundle.Entry
	for _, name := range []string{"VERSION", "bin/go", "src/fmt/print.go"} {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(name), 0o755); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, bundle.Entry{Name: "go/" + name, Src: p})
	}
	var buf bytes.Buffer
	part, err := archive.WriteArchive(&buf, entries, archive.LevelFast)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), part
}

func opener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func TestInstallOnceAndReuse(t *testing.T) {
	data, part := fakeToolchain(t)
	cache := t.TempDir()
	opens := 0
	open := func() (io.ReadCloser, error) { opens++; return opener(data)() }
	var wg sync.WaitGroup
	roots := make([]string, 4)
	errs := make([]error, 4)
	for i := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			roots[i], errs[i] = Install(opener(data), part, cache)
		}()
	}
	wg.Wait()
	for i := range roots {
		if errs[i] != nil || roots[i] != roots[0] {
			t.Fatalf("concurrent Install %d: %q, %v", i, roots[i], errs[i])
		}
	}
	if got, err := os.ReadFile(GoBin(roots[0])); err != nil || string(got) != "bin/go" {
		t.Fatalf("installed go: %q, %v", got, err)
	}
	if _, err := Install(open, part, cache); err != nil || opens != 0 {
		t.Errorf("second Install opened the archive %d times (err %v), want reuse", opens, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(cache, "toolchain", ".extract-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directories left: %v", leftovers)
	}
}

func TestInstallRefusesTamperedArchive(t *testing.T) {
	data, part := fakeToolchain(t)
	bad := append([]byte(nil), data...)
	bad[len(bad)-5] ^= 0xff
	cache := t.TempDir()
	_, err := Install(opener(bad), part, cache)
	if err == nil {
		t.Fatal("Install accepted a tampered archive")
	}
	entries, _ := os.ReadDir(filepath.Join(cache, "toolchain"))
	if len(entries) != 0 {
		t.Errorf("tampered install left %v", entries)
	}
}

func TestInstallReplacesIncompleteLeftover(t *testing.T) {
	data, part := fakeToolchain(t)
	cache := t.TempDir()
	root := filepath.Join(cache, "toolchain", part.SHA256[:32])
	os.MkdirAll(filepath.Join(root, "go"), 0o755) // no completion marker
	goroot, err := Install(opener(data), part, cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(GoBin(goroot)); err != nil {
		t.Errorf("leftover not replaced: %v", err)
	}
}

func TestInstallRejectsForeignCacheEntry(t *testing.T) {
	data, part := fakeToolchain(t)
	cache := t.TempDir()
	root := filepath.Join(cache, "toolchain", part.SHA256[:32])
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, completeMarker), []byte(strings.Repeat("f", 64)), 0o644)
	if _, err := Install(opener(data), part, cache); err == nil || !strings.Contains(err.Error(), "remove the directory") {
		t.Errorf("Install over a mismatched cache entry: %v", err)
	}
}

func TestFilesTrimsGOROOT(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{
		"VERSION", "go.env", "bin/go", "pkg/include/asm.h",
		"pkg/tool/linux_amd64/compile", "pkg/tool/linux_amd64/link", "pkg/tool/linux_amd64/asm", "pkg/tool/linux_amd64/cgo",
		"pkg/tool/linux_amd64/vet", "src/fmt/print.go", "src/fmt/print_test.go", "src/fmt/testdata/x",
		"src/cmd/go/main.go", "doc/go_spec.html",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	entries, err := Files(root, "linux", "amd64", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name)
	}
	want := "go/VERSION go/go.env go/bin/go go/pkg/tool/linux_amd64/compile go/pkg/tool/linux_amd64/link go/pkg/tool/linux_amd64/asm go/pkg/tool/linux_amd64/cgo go/pkg/include/asm.h go/src/fmt/print.go"
	if strings.Join(got, " ") != want {
		t.Errorf("Files:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if _, err := Files(root, "linux", "amd64", true); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Files with pgo and no preprofile: %v, want a missing-file error", err)
	}
}
