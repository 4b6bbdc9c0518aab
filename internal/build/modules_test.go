package build

import (
	"slices"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
)

func TestPruneModules(t *testing.T) {
	graph, err := modgen.ParseGraph([]byte("example.com/host example.com/kept@v1.0.0\nexample.com/kept@v1.0.0 example.com/Upper@v0.1.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []bundle.Entry
	for _, name := range []string{
		"cache/download/example.com/kept/@v/list",
		"cache/download/example.com/kept/@v/v1.0.0.mod",
		"cache/download/example.com/kept/@v/v1.0.0.ziphash",
		"cache/download/example.com/kept/@v/v0.9.0.mod",
		"cache/download/example.com/!upper/@v/v0.1.0.mod",
		"cache/download/example.com/removed/@v/list",
		"cache/download/example.com/removed/@v/v1.0.0.info",
		"example.com/kept@v1.0.0/kept.go",
		"example.com/removed@v1.0.0/removed.go",
		"selfcompile-local/example.com/local/go.mod",
		"selfcompile-local/example.com/gone/go.mod",
	} {
		entries = append(entries, bundle.Entry{Name: name})
	}
	plugins := []bundle.Plugin{{Path: "example.com/local", Module: "example.com/local", Dir: "/src/local"}}
	got, err := pruneModules(entries, graph, plugins)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range got {
		names = append(names, e.Name)
	}
	want := []string{
		"cache/download/example.com/kept/@v/list",
		"cache/download/example.com/kept/@v/v1.0.0.mod",
		"cache/download/example.com/kept/@v/v1.0.0.ziphash",
		"cache/download/example.com/!upper/@v/v0.1.0.mod",
		"example.com/kept@v1.0.0/kept.go",
		"selfcompile-local/example.com/local/go.mod",
	}
	if !slices.Equal(names, want) {
		t.Errorf("pruneModules kept\n%q\nwant\n%q", names, want)
	}
}
