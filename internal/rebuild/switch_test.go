package rebuild

import (
	"errors"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/helper"
)

func TestCheckGoLine(t *testing.T) {
	gomod := []byte("module example.com/host\n\n// go 1.99 in a comment\ngo 1.26.4\n\ntoolchain go1.26.8\n")
	if got := goLine(gomod); got != "1.26.4" {
		t.Errorf("goLine = %q, want 1.26.4", got)
	}
	to := func(v string) *switched { return &switched{move: bundle.ToolchainMove{From: "go1.26.8", To: v}} }
	for _, ok := range []string{"go1.26.4", "go1.26.9", "go1.27.0"} {
		if err := checkGoLine(gomod, to(ok)); err != nil {
			t.Errorf("move to %s: %v", ok, err)
		}
	}
	err := checkGoLine(gomod, to("go1.26.3"))
	var te *toolchainError
	if !errors.As(err, &te) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "toolchain go1.26.3 is below the host's go.mod go line (go 1.26.4)") {
		t.Errorf("move below the go line: %v, want a one-line *toolchainError", err)
	}
	if err := checkGoLine(gomod, nil); err != nil {
		t.Errorf("no move: %v", err)
	}
}

func TestKeptManifestDropsTheOldToolchain(t *testing.T) {
	m := &bundle.Manifest{Parts: map[string]bundle.Part{bundle.ToolchainFile: {}, bundle.HelperFile: {}, bundle.StdCacheFile: {}, bundle.SourceFile: {}}}
	if got := keptManifest(m, nil); got != m {
		t.Error("no switch: the manifest should be kept as it is")
	}
	got := keptManifest(m, &switched{})
	if _, ok := got.Parts[bundle.ToolchainFile]; ok || len(got.Parts) != 2 {
		t.Errorf("after a switch the kept parts are %v, want the helper and the source", got.Parts)
	}
	if len(m.Parts) != 4 {
		t.Errorf("keptManifest changed the bundle's manifest: %v", m.Parts)
	}
}

func TestCheckToolchainAlone(t *testing.T) {
	if out := check(&helper.Job{Toolchain: "patch"}); out.Err != nil || out.NothingToDo != "" {
		t.Errorf("a toolchain alone: %+v, want work to do", out)
	}
	installed := []bundle.Plugin{{Path: "example.com/a", Module: "example.com/a", Version: "v1.2.0", Query: "v1.2.0"}}
	if out := check(&helper.Job{Plugins: []string{"example.com/a@v1.2.0"}, Installed: installed, Toolchain: "latest"}); out.NothingToDo != "" {
		t.Errorf("an installed plugin with a toolchain: %q, want work to do", out.NothingToDo)
	}
	if out := check(&helper.Job{Plugins: []string{"example.com/a"}, Toolchain: "go1.27"}); out.Err == nil || !strings.Contains(out.Err.Msg, `toolchain "go1.27"`) {
		t.Errorf("a malformed toolchain: %+v, want refused", out.Err)
	}
}
