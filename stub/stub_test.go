package stub

import (
	"runtime/debug"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
)

func TestPluginsTakesVersionsFromBuildInfo(t *testing.T) {
	m := &bundle.Info{Plugins: []bundle.Plugin{
		{Path: "example.com/a/sub", Module: "example.com/a", Version: "v1.0.0"},
		{Path: "example.com/host/p", Module: "example.com/host"},
	}}
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "example.com/a", Version: "v1.2.0"}}}
	got := Plugins(m, bi)
	if len(got) != 2 || got[0].Version != "v1.2.0" || got[1].Version != "" {
		t.Errorf("Plugins: %+v", got)
	}
	if Plugins(nil, bi) != nil {
		t.Error("a binary without a bundle reports plugins")
	}
}
