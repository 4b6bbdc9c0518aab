package srctree

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

func TestFiles(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH: ", err)
	}
	root := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":                       "module example.com/m\n\ngo 1.26\n",
		"go.sum":                       "",
		"m.go":                         "package m\n\nimport _ \"embed\"\n\n//go:embed web/index.html\nvar index string\n",
		"m_test.go":                    "package m\n",
		"asm_amd64.s":                  "",
		"web/index.html":               "<html>",
		"web/unused.css":               "",
		"README.md":                    "",
		"testdata/big.bin":             "",
		".git/config":                  "",
		"_tools/x.go":                  "package tools\n",
		"nested/go.mod":                "module example.com/m/nested\n",
		"nested/n.go":                  "package nested\n",
		"sub/s.go":                     "package sub\n",
		"selfcompile_bundle.go":        "package m\n",
		"selfcompile_bundle_x.tar.zst": "",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := &gocmd.Runner{InheritEnv: true, Env: []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"}}
	got, err := Files(context.Background(), g, root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"asm_amd64.s", "go.mod", "go.sum", "m.go", "sub/s.go", "web/index.html"}
	if !slices.Equal(got, want) {
		t.Errorf("Files:\n got %q\nwant %q", got, want)
	}

	dst := filepath.Join(t.TempDir(), "copy")
	if err := Copy(context.Background(), g, root, dst); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "web", "index.html")); err != nil || string(data) != "<html>" {
		t.Errorf("copied embed file: %q, %v", data, err)
	}
}
