package generate

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/archive"
)

// fakeGoroot lays out the files toolchain.Files lists, with small contents.
func fakeGoroot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	files := []string{"VERSION", "go.env", "bin/go" + exe, "pkg/include/textflag.h", "src/fmt/print.go"}
	for _, tool := range []string{"compile", "link", "asm", "cgo"} {
		files = append(files, filepath.Join("pkg/tool", runtime.GOOS+"_"+runtime.GOARCH, tool+exe))
	}
	for _, f := range files {
		name := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte("content of "+f+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCachedToolchainIsVerifiedBeforeReuse(t *testing.T) {
	g := &generator{
		opts: Options{CacheDir: t.TempDir(), Level: archive.LevelFast, Compressor: "go"},
		env:  goEnv{GOROOT: fakeGoroot(t), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GOHOSTOS: runtime.GOOS, GOHOSTARCH: runtime.GOARCH, GOVERSION: "go1.26.0"},
	}
	first, err := g.toolchainArchive(context.Background(), platform{runtime.GOOS, runtime.GOARCH}, false, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if first.cached {
		t.Fatal("the first archive came from an empty cache")
	}
	again, err := g.toolchainArchive(context.Background(), platform{runtime.GOOS, runtime.GOARCH}, false, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !again.cached || again.part != first.part {
		t.Fatalf("second call: cached=%v part=%+v, want the cached %+v", again.cached, again.part, first.part)
	}

	// Flip one byte: same size, different content.
	data, err := os.ReadFile(first.path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(first.path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fixed, err := g.toolchainArchive(context.Background(), platform{runtime.GOOS, runtime.GOARCH}, false, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if fixed.cached || fixed.replaced != first.path {
		t.Fatalf("corrupt cache entry: cached=%v replaced=%q, want it rebuilt and reported", fixed.cached, fixed.replaced)
	}
	got, err := archive.FilePart(fixed.path)
	if err != nil {
		t.Fatal(err)
	}
	if got != fixed.part || got != first.part {
		t.Errorf("rebuilt archive %+v, recorded %+v, first %+v: want all equal", got, fixed.part, first.part)
	}
}
