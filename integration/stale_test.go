//go:build e2e

package integration

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestStaleBundle builds a host in a git work tree that ignores the
// bundle's files. Built after go generate, it rebuilds, and bundle -check
// passes. After an edit of main.go and a go build without go generate,
// the binary's bundle holds the old source: a rebuild refuses in prepare
// naming go generate, inspect says so, and bundle -check exits non-zero.
func TestStaleBundle(t *testing.T) {
	testkit.NeedCommand(t, "git")
	dir, hostEnv := bundleHost(t, hostBuild{})
	bin := filepath.Join(t.TempDir(), "host")
	gitEnv := append(hostEnv, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	// A first build settles go.mod and go.sum; then the tree is committed.
	run(t, true, dir, hostEnv, "go", "build", "-o", bin, ".")
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("selfcompile_bundle*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, true, dir, gitEnv, "git", "init", "-q")
	run(t, true, dir, gitEnv, "git", "add", ".")
	run(t, true, dir, gitEnv, "git", "commit", "-q", "-m", "host")
	goTool := func(args ...string) []string {
		return append([]string{"run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile"}, args...)
	}

	run(t, true, dir, hostEnv, "go", "generate")
	run(t, true, dir, hostEnv, "go", "build", "-o", bin, ".")
	mustContain(t, run(t, true, dir, hostEnv, "go", goTool("bundle", "-check")...), "the bundle matches the host's source")
	out := run(t, true, "", env(), "go", goTool("inspect", bin)...)
	mustContain(t, out, "source ", "sha256:", "(clean)")
	mustNotContain(t, out, "stale")
	mustContain(t, run(t, true, filepath.Dir(bin), env(), bin, "install", "example.com/hostplugin@v1.0.0"), "selfcompile: smoke")

	f, err := os.OpenFile(filepath.Join(dir, "main.go"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\nfunc init() { println(\"an edit the bundle lacks\") }\n")
	f.Close()
	bin2 := filepath.Join(t.TempDir(), "host")
	run(t, true, dir, hostEnv, "go", "build", "-o", bin2, ".")
	before := testkit.Snapshot(t, filepath.Dir(bin2))
	out, code := runCode(t, filepath.Dir(bin2), env(), bin2, "install", "example.com/hostplugin@v1.0.0")
	if code != 2 {
		t.Errorf("a stale bundle's rebuild exited %d, want 2 (refused)", code)
	}
	mustContain(t, out, "host: prepare: this binary's bundle is stale (the binary was built from a modified tree at revision ", "go generate")
	mustNotContain(t, out, "selfcompile: toolchain", "selfcompile: build")
	if after := testkit.Snapshot(t, filepath.Dir(bin2)); !maps.Equal(before, after) {
		t.Errorf("a refused rebuild changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	mustContain(t, run(t, true, "", env(), "go", goTool("inspect", bin2)...), "stale ", "modified tree")
	out = run(t, false, dir, hostEnv, "go", goTool("bundle", "-check")...)
	mustContain(t, out, "the bundle is stale: the host's build inputs changed since the bundle in "+dir+" was generated: run go generate")

	// Committed, the edit is another revision: still stale.
	run(t, true, dir, gitEnv, "git", "commit", "-q", "-am", "edit")
	run(t, true, dir, hostEnv, "go", "build", "-o", bin2, ".")
	mustContain(t, run(t, false, filepath.Dir(bin2), env(), bin2, "install", "example.com/hostplugin@v1.0.0"), "the binary was built from revision ")
}
