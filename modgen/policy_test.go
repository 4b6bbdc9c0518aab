package modgen

import (
	"errors"
	"testing"
)

func TestCheckAllowed(t *testing.T) {
	for _, tc := range []struct {
		allow, spec string
		ok          bool
	}{
		{"", "example.com/anything@v1.0.0", true},
		{"", "./local", true},
		{"example.com/plugins", "example.com/plugins/a@v1.0.0", true},
		{"example.com/plugins", "example.com/pluginsevil/a", false},
		{"example.com/*/trusted", "example.com/org/trusted/sub@latest", true},
		{"example.com/*/trusted", "example.com/org/other", false},
		{"github.com/myorg,example.com/p", "example.com/p@>=1.2", true},
		{"github.com/myorg,example.com/p", "github.com/other/p", false},
		{"example.com/p", "./local", false},
	} {
		err := CheckAllowed([]Spec{mustParse(t, tc.spec)}, tc.allow)
		if (err == nil) != tc.ok {
			t.Errorf("CheckAllowed(%q, %q) = %v, want allowed %v", tc.spec, tc.allow, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrNotAllowed) {
			t.Errorf("CheckAllowed(%q, %q) = %v, want ErrNotAllowed", tc.spec, tc.allow, err)
		}
	}
}

// A package path can match a pattern that the module providing it does
// not: the module is checked once resolved.
func TestCheckAllowedModules(t *testing.T) {
	p := &Plan{Added: []Resolved{{Spec: mustParse(t, "example.com/org/p/sub"), Path: "example.com/org/p/sub", Module: "example.com/org", Version: "v1.0.0"}}}
	if err := p.CheckAllowedModules("example.com/org/p"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("module outside the policy: %v, want ErrNotAllowed", err)
	}
	if err := p.CheckAllowedModules("example.com/org"); err != nil {
		t.Errorf("module inside the policy: %v", err)
	}
}
