package modgen

import (
	"errors"
	"reflect"
	"testing"
)

func TestNewSet(t *testing.T) {
	a := Plugin{Path: "example.com/aplugin", Module: "example.com/aplugin", Version: "v1.2.0", Query: "v1.2.0"}
	aSub := Plugin{Path: "example.com/aplugin/sub", Module: "example.com/aplugin", Version: "v1.2.0", Query: "latest"}
	b := Plugin{Path: "example.com/bumper", Module: "example.com/bumper", Version: "v1.0.0", Query: "latest"}
	hostPkg := Plugin{Path: "example.com/host/plugins/x", Module: "example.com/host"}
	resolved := func(p Plugin, raw string) Resolved {
		return Resolved{Spec: Spec{Raw: raw, Query: p.Query}, Path: p.Path, Module: p.Module, Version: p.Version, Dir: p.Dir}
	}
	with := func(p Plugin, version, query, dir string) Plugin {
		p.Version, p.Query, p.Dir = version, query, dir
		return p
	}
	local := with(a, "v0.0.0-00010101000000-000000000000", "", "/src/aplugin")
	tests := []struct {
		name      string
		installed []Plugin
		added     []Resolved
		remove    []string
		want      []Plugin
	}{
		{"add to nothing", nil, []Resolved{resolved(a, "example.com/aplugin@v1.2.0")}, nil, []Plugin{a}},
		{"add beside", []Plugin{b}, []Resolved{resolved(a, "a")}, nil, []Plugin{a, b}},
		{"re-pin", []Plugin{a, b}, []Resolved{resolved(with(a, "v1.3.0", ">=1.3", ""), "a")}, nil, []Plugin{with(a, "v1.3.0", ">=1.3", ""), b}},
		{"re-pin moves the module's other packages", []Plugin{a, aSub}, []Resolved{resolved(with(a, "v1.3.0", "v1.3.0", ""), "a")}, nil, []Plugin{with(a, "v1.3.0", "v1.3.0", ""), with(aSub, "v1.3.0", "latest", "")}},
		{"add a package of an installed module", []Plugin{with(a, "v1.2.0", "latest", "")}, []Resolved{resolved(with(aSub, "v1.3.0", "latest", ""), "s")}, nil, []Plugin{with(a, "v1.3.0", "latest", ""), with(aSub, "v1.3.0", "latest", "")}},
		{"move a pinned package asked again", []Plugin{a}, []Resolved{resolved(with(aSub, "v1.3.0", "latest", ""), "s"), resolved(with(a, "v1.3.0", "v1.3.0", ""), "a")}, nil, []Plugin{with(a, "v1.3.0", "v1.3.0", ""), with(aSub, "v1.3.0", "latest", "")}},
		{"re-pin to a local directory", []Plugin{a, aSub}, []Resolved{resolved(local, "./aplugin")}, nil, []Plugin{local, with(aSub, local.Version, "latest", local.Dir)}},
		{"remove by package path", []Plugin{a, aSub, b}, nil, []string{"example.com/aplugin/sub"}, []Plugin{a, b}},
		{"remove by module path drops every package", []Plugin{a, aSub, b}, nil, []string{"example.com/aplugin"}, []Plugin{b}},
		{"remove the last", []Plugin{b}, nil, []string{"example.com/bumper"}, []Plugin{}},
		{"remove then add again", []Plugin{a}, []Resolved{resolved(with(a, "v1.0.0", "v1.0.0", ""), "a")}, []string{"example.com/aplugin"}, []Plugin{with(a, "v1.0.0", "v1.0.0", "")}},
		{"host package", []Plugin{b}, []Resolved{resolved(hostPkg, "example.com/host/plugins/x")}, nil, []Plugin{b, hostPkg}},
		{"same module twice at one version", nil, []Resolved{resolved(a, "a"), resolved(aSub, "s")}, nil, []Plugin{a, aSub}},
	}
	for _, tt := range tests {
		installed := append([]Plugin(nil), tt.installed...)
		got, err := NewSet(tt.installed, tt.added, tt.remove)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, got, tt.want)
		}
		if !reflect.DeepEqual(installed, tt.installed) {
			t.Errorf("%s: NewSet modified installed", tt.name)
		}
	}
}

func TestNewSetErrors(t *testing.T) {
	a := Plugin{Path: "example.com/aplugin", Module: "example.com/aplugin", Version: "v1.2.0"}
	_, err := NewSet([]Plugin{a}, nil, []string{"example.com/other"})
	var ni *NotInstalledError
	if !errors.As(err, &ni) || ni.Path != "example.com/other" || !reflect.DeepEqual(ni.Installed, []string{"example.com/aplugin"}) {
		t.Errorf("removing what is not installed: %v, want a NotInstalledError listing example.com/aplugin", err)
	} else if got, want := err.Error(), "cannot remove example.com/other: it is not installed (installed: example.com/aplugin)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := NewSet(nil, nil, []string{"x"}); err == nil || err.Error() != "cannot remove x: no plugins are installed" {
		t.Errorf("removing from an empty set: %v", err)
	}

	r1 := Resolved{Spec: Spec{Raw: "example.com/aplugin@v1.2.0"}, Path: "example.com/aplugin", Module: "example.com/aplugin", Version: "v1.2.0"}
	r2 := Resolved{Spec: Spec{Raw: "example.com/aplugin/sub@v1.3.0"}, Path: "example.com/aplugin/sub", Module: "example.com/aplugin", Version: "v1.3.0"}
	_, err = NewSet(nil, []Resolved{r1, r2}, nil)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Module != "example.com/aplugin" || ce.Have != [2]string{"v1.2.0", "v1.3.0"} {
		t.Errorf("one module at two versions: %v, want a ConflictError", err)
	}
}

// A spec that would move another plugin of its module, installed at an
// exact version, is refused naming both and both ways out.
func TestNewSetKeepsPins(t *testing.T) {
	webp := Plugin{Path: "golang.org/x/image/webp", Module: "golang.org/x/image", Version: "v0.48.0", Query: "v0.48.0"}
	bmp := Resolved{Spec: Spec{Raw: "golang.org/x/image/bmp@v0.47.0", Query: "v0.47.0"}, Path: "golang.org/x/image/bmp", Module: "golang.org/x/image", Version: "v0.47.0"}
	_, err := NewSet([]Plugin{webp}, []Resolved{bmp}, nil)
	var pe *PinError
	if !errors.As(err, &pe) || pe.Pinned.Path != webp.Path {
		t.Fatalf("moving a pinned plugin: %v, want a PinError naming %s", err, webp.Path)
	}
	want := `plugin "golang.org/x/image/bmp@v0.47.0" needs golang.org/x/image at v0.47.0, but plugin golang.org/x/image/webp is pinned at v0.48.0, and a build holds one version of a module: ask golang.org/x/image/bmp@v0.48.0, or move both (golang.org/x/image/bmp@v0.47.0 golang.org/x/image/webp@v0.47.0)`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	webp.Query = "latest"
	set, err := NewSet([]Plugin{webp}, []Resolved{bmp}, nil)
	if err != nil {
		t.Fatalf("moving a plugin asked at latest: %v", err)
	}
	notes := MovedPlugins([]Plugin{webp}, set, []Resolved{bmp})
	if len(notes) != 1 || notes[0] != "plugin golang.org/x/image/webp moves from v0.48.0 to v0.47.0 with golang.org/x/image/bmp@v0.47.0: they share module golang.org/x/image, and a build holds one version of a module" {
		t.Errorf("notes %q, want one saying webp moves", notes)
	}
}
