package srctree

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rogpeppe/go-internal/goproxytest"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

func TestFiles(t *testing.T) {
	testkit.NeedGo(t)
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

// TestFilesLeavesGoModAlone: listing a module's files, with -mod=mod as a
// rebuild runs the go command, does not rewrite its go.mod (a local
// plugin's directory is the user's).
func TestFilesLeavesGoModAlone(t *testing.T) {
	testkit.NeedGo(t)
	srv, err := goproxytest.NewServer("../../testdata/mod", "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	gomod := "module example.com/p\n\ngo 1.26\n\nrequire example.com/hostplugin v1.0.0\n"
	for name, data := range map[string]string{"go.mod": gomod, "p.go": "package p\n\nimport _ \"example.com/hostplugin\"\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := &gocmd.Runner{Env: []string{"GOFLAGS=-mod=mod -modcacherw", "GOPROXY=" + srv.URL, "GONOSUMDB=example.com", "GOMODCACHE=" + t.TempDir()}}
	if _, err := Files(context.Background(), g, dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(got) != gomod {
		t.Errorf("Files rewrote go.mod:\n%s", got)
	}
}
