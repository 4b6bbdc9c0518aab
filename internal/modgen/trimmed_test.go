package modgen

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestLoadNoMove: a package that no module of the build list provides
// makes the go command add a module; Load lets that stand, as MakePlan
// reports it, but with NoMove refuses it and leaves go.mod as it was.
func TestLoadNoMove(t *testing.T) {
	env := newTestEnv(t)
	testkit.WriteFiles(t, env.HostDir, map[string]string{"p/p.go": "package p\n\nimport _ \"example.com/good\"\n"})
	gomod := func() string {
		data, _ := os.ReadFile(filepath.Join(env.HostDir, "go.mod"))
		return string(data)
	}
	before := gomod()
	_, err := Load(context.Background(), LoadRequest{Go: env.Go, Dir: env.HostDir, Args: []string{"./p"}, NoMove: true})
	if err == nil || !strings.Contains(err.Error(), "example.com/good") {
		t.Errorf("Load with NoMove: %v, want a refusal naming example.com/good", err)
	}
	if got := gomod(); got != before {
		t.Errorf("Load with NoMove changed go.mod:\n%s", got)
	}
	pkgs, err := Load(context.Background(), LoadRequest{Go: env.Go, Dir: env.HostDir, Args: []string{"./p"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pkgs {
		found = found || p.ImportPath == "example.com/good" && p.Error == nil
	}
	if !found || !strings.Contains(gomod(), "example.com/good") {
		t.Errorf("Load without NoMove: example.com/good loaded %v, go.mod:\n%s", found, gomod())
	}
}
