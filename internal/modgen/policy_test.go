package modgen

import (
	"errors"
	"strings"
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

func TestUncheckedModules(t *testing.T) {
	before := []byte("example.com/host/dep v1.0.0 h1:a=\nexample.com/host/dep v1.0.0/go.mod h1:b=\n")
	after := []byte(string(before) +
		"example.com/plugin v1.2.0 h1:c=\nexample.com/plugin v1.2.0/go.mod h1:d=\n" +
		"github.com/public/lib v0.3.0 h1:e=\nexample.com/onlymod v1.0.0/go.mod h1:f=\n")
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, ""},
		{[]string{"GONOSUMDB=example.com"}, "example.com/plugin@v1.2.0 was not checked against the checksum database (GONOSUMDB=example.com)"},
		{[]string{"GOPRIVATE=example.com/*"}, "example.com/plugin@v1.2.0 was not checked against the checksum database (GOPRIVATE=example.com/*)"},
		{[]string{"GONOSUMDB=corp.example", "GOPRIVATE=example.com"}, ""}, // GONOSUMDB, when set, is the list
		{[]string{"GOSUMDB=off"}, "example.com/plugin@v1.2.0 was not checked against the checksum database (GOSUMDB=off); github.com/public/lib@v0.3.0 was not checked against the checksum database (GOSUMDB=off)"},
	} {
		var got []string
		for _, u := range UncheckedModules(before, after, tc.env) {
			got = append(got, u.String())
		}
		if strings.Join(got, "; ") != tc.want {
			t.Errorf("env %q:\n got %q\nwant %q", tc.env, strings.Join(got, "; "), tc.want)
		}
	}
}
