package archive

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// A framed archive extracts like any other; a second one copies the
// frames of the modules the first holds byte for byte and compresses
// only the new ones.
func TestFramedReuse(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{
		"example.com/a@v1.0.0/a.go":               "package a",
		"example.com/a@v1.0.0/go.mod":             "module example.com/a",
		"example.com/b@v1.2.0/sub/b.go":           "package sub",
		"cache/download/example.com/a/@v/list":    "v1.0.0\n",
		"selfcompile-local/example.com/l@v0/l.go": "package l",
	}
	entries := func(names ...string) []bundle.Entry {
		var es []bundle.Entry
		for _, n := range names {
			p := filepath.Join(src, filepath.FromSlash(n))
			if _, err := os.Stat(p); err != nil {
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			es = append(es, bundle.Entry{Name: n, Src: p})
		}
		return es
	}
	var first bytes.Buffer
	part1, frames1, err := WriteFramed(&first, entries("example.com/a@v1.0.0/a.go", "example.com/a@v1.0.0/go.mod", "cache/download/example.com/a/@v/list", "selfcompile-local/example.com/l@v0/l.go"), LevelFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames1) != 1 || frames1["example.com/a@v1.0.0"].Size == 0 {
		t.Fatalf("frames %v, want one for example.com/a@v1.0.0 (the download cache and local copies are not modules)", frames1)
	}
	checkExtract(t, first.Bytes(), part1, "example.com/a@v1.0.0/a.go", "selfcompile-local/example.com/l@v0/l.go")

	files["example.com/b@v1.2.0/sub/b.go"] = "package sub"
	var second bytes.Buffer
	reuse := &Reuse{Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(first.Bytes())), nil }, Frames: frames1}
	part2, frames2, err := WriteFramed(&second, entries("example.com/a@v1.0.0/a.go", "example.com/a@v1.0.0/go.mod", "example.com/b@v1.2.0/sub/b.go", "cache/download/example.com/a/@v/list"), LevelFast, reuse)
	if err != nil {
		t.Fatal(err)
	}
	a1, a2 := frames1["example.com/a@v1.0.0"], frames2["example.com/a@v1.0.0"]
	if !bytes.Equal(first.Bytes()[a1.Offset:a1.Offset+a1.Size], second.Bytes()[a2.Offset:a2.Offset+a2.Size]) {
		t.Error("the frame of an unchanged module was not copied byte for byte")
	}
	if frames2["example.com/b@v1.2.0"].Size == 0 {
		t.Errorf("frames %v lack the new module", frames2)
	}
	checkExtract(t, second.Bytes(), part2, "example.com/a@v1.0.0/go.mod", "example.com/b@v1.2.0/sub/b.go", "cache/download/example.com/a/@v/list")

	// A module that now holds other files (trimmed differently, or
	// completed) is compressed anew, not copied from its old frame.
	files["example.com/a@v1.0.0/more/m.go"] = "package more"
	var third bytes.Buffer
	reuse = &Reuse{Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(second.Bytes())), nil }, Frames: frames2}
	part3, frames3, err := WriteFramed(&third, entries("example.com/a@v1.0.0/a.go", "example.com/a@v1.0.0/go.mod", "example.com/a@v1.0.0/more/m.go", "example.com/b@v1.2.0/sub/b.go"), LevelFast, reuse)
	if err != nil {
		t.Fatal(err)
	}
	checkExtract(t, third.Bytes(), part3, "example.com/a@v1.0.0/more/m.go", "example.com/b@v1.2.0/sub/b.go")
	b2, b3 := frames2["example.com/b@v1.2.0"], frames3["example.com/b@v1.2.0"]
	if !bytes.Equal(second.Bytes()[b2.Offset:b2.Offset+b2.Size], third.Bytes()[b3.Offset:b3.Offset+b3.Size]) {
		t.Error("the frame of an unchanged module was not copied byte for byte")
	}
}

func checkExtract(t *testing.T, data []byte, part bundle.Part, names ...string) {
	t.Helper()
	dest := t.TempDir()
	if err := Extract(bytes.NewReader(data), dest, part); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	for _, n := range names {
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(n)))
		if err != nil || !strings.HasPrefix(string(got), "package") && !strings.HasPrefix(string(got), "module") && !strings.HasPrefix(string(got), "v1") {
			t.Errorf("%s: %q, %v", n, got, err)
		}
	}
}
