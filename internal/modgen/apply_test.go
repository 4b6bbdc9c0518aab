package modgen

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files with the current output")

// TestEditGoModGolden applies each testdata/*.in to its go.mod and
// compares the result with the matching .golden file, in the manner of
// golang.org/x/mod/modfile's tests. An .in file is a txtar archive with
// two files: "go.mod", and "plugins", which holds one change a line:
//
//	add PATH MODULE [VERSION [DIR]] a plugin of the new set (DIR: local)
//	drop MODULE                      forget the module's lines first
//
// A failing edit's golden file holds "error: " and the message.
func TestEditGoModGolden(t *testing.T) {
	ins, err := filepath.Glob(filepath.Join("testdata", "*.in"))
	if err != nil || len(ins) == 0 {
		t.Fatalf("no testdata/*.in: %v", err)
	}
	for _, in := range ins {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in"), func(t *testing.T) {
			gomod, e := readEditCase(t, in)
			got, err := EditGoMod("go.mod", gomod, e)
			if err != nil {
				got = []byte("error: " + err.Error() + "\n")
			}
			golden := strings.TrimSuffix(in, ".in") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: got\n%s\nwant (%s)\n%s", in, got, golden, want)
			}
		})
	}
}

func readEditCase(t *testing.T, name string) ([]byte, Edit) {
	t.Helper()
	a, err := txtar.ParseFile(name)
	if err != nil {
		t.Fatal(err)
	}
	gomod, plugins := archiveFile(a, "go.mod"), archiveFile(a, "plugins")
	if gomod == nil || plugins == nil {
		t.Fatalf("%s: want files go.mod and plugins", name)
	}
	e, err := parseEdit(string(plugins))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return gomod, e
}

func parseEdit(text string) (Edit, error) {
	var e Edit
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case f[0] == "drop" && len(f) == 2:
			e.Drop = append(e.Drop, f[1])
		case f[0] == "add" && len(f) >= 3 && len(f) <= 5:
			p := Plugin{Path: f[1], Module: f[2]}
			if len(f) >= 4 {
				p.Version = f[3]
			}
			if len(f) == 5 {
				p.Dir = f[4]
			}
			e.Plugins = append(e.Plugins, p)
		default:
			return e, fmt.Errorf("plugins line %d: want add PATH MODULE VERSION [DIR] or drop MODULE, have %q", i+1, line)
		}
	}
	return e, nil
}

func TestApplyEditWritesGoMod(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"go.mod": "module example.com/host\n\ngo 1.21\n"})
	err := ApplyEdit(dir, Edit{Plugins: []Plugin{{Path: "example.com/aplugin/sub", Module: "example.com/aplugin", Version: "v1.2.0", Query: "v1.2.0"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if want := "module example.com/host\n\ngo 1.21\n\nrequire example.com/aplugin v1.2.0\n"; string(got) != want {
		t.Errorf("go.mod:\n%s\nwant\n%s", got, want)
	}
}

func archiveFile(a *txtar.Archive, name string) []byte {
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}
