package goswitch

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"", "patch", "latest", "go1.26.9", "go1.27.0", "go1.30.12"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"1.26.9", "go1.26", "go1.27rc1", "go1.26.9.1", "Patch", "newest", "go1.26.x", "go1.026.1", "go1.26.9 ", "go1..9"} {
		err := Check(bad)
		if err == nil {
			t.Errorf("Check(%q) = nil, want an error", bad)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "\""+bad+"\"") || !strings.Contains(msg, `"patch"`) || strings.Contains(msg, "\n") {
			t.Errorf("Check(%q) = %q: want one line naming it and the accepted forms", bad, msg)
		}
	}
}

var list = []string{
	"v0.0.1-go1.25.9.linux-amd64",
	"v0.0.1-go1.26.8.linux-amd64",
	"v0.0.1-go1.26.9.linux-amd64",
	"v0.0.1-go1.26.11.linux-amd64",
	"v0.0.1-go1.26.12.darwin-arm64", // another platform
	"v0.0.1-go1.26.13.linux-amd64p32",
	"v0.0.1-go1.27rc1.linux-amd64", // release candidate
	"v0.0.1-go1.27.0.linux-amd64",
	"v0.0.1-go1.27.1.linux-arm64",
	"v0.0.1-go1.28beta1.linux-amd64",
	"v0.0.2-go1.29.0.linux-amd64",
}

func TestReleases(t *testing.T) {
	got := strings.Join(Releases(list, "linux", "amd64"), " ")
	if want := "go1.25.9 go1.26.8 go1.26.9 go1.26.11 go1.27.0"; got != want {
		t.Errorf("Releases = %s, want %s", got, want)
	}
}

func TestSelect(t *testing.T) {
	rel := Releases(list, "linux", "amd64")
	for _, c := range []struct{ req, bundled, want string }{
		{"", "go1.26.8", "go1.26.8"},
		{"patch", "go1.26.8", "go1.26.11"}, // 11 > 9: numeric, not string order
		{"latest", "go1.26.8", "go1.27.0"}, // rc and the other platform's 1.27.1 left out
		{"go1.26.9", "go1.26.8", "go1.26.9"},
		{"go1.25.9", "go1.26.8", "go1.25.9"}, // an exact request may go down
		{"patch", "go1.26.11", "go1.26.11"},
		{"patch", "go1.26.20", "go1.26.20"}, // never down
		{"latest", "go1.28.1", "go1.28.1"},
		{"patch", "go1.24.3", "go1.24.3"}, // no 1.24 release listed
	} {
		got, err := Select(c.req, c.bundled, rel)
		if err != nil || got != c.want {
			t.Errorf("Select(%q, %q) = %q, %v; want %q", c.req, c.bundled, got, err, c.want)
		}
	}
	if _, err := Select("go1.27", "go1.26.8", rel); err == nil {
		t.Error("Select of a malformed request: no error")
	}
}

func TestNeedsAllow(t *testing.T) {
	for _, c := range []struct {
		line, have string
		needs      bool
	}{
		{"1.27", "go1.26.8", true},
		{"1.26.9", "go1.26.8", true},
		{"1.26.8", "go1.26.8", false},
		{"1.26", "go1.26.8", false},
		{"1.21", "go1.26.8", false},
		{"", "go1.26.8", false},
		{"1.27.0", "go1.27.0", false},
	} {
		if got := Needs(c.line, c.have); got != c.needs {
			t.Errorf("Needs(%q, %q) = %v", c.line, c.have, got)
		}
	}
	for _, c := range []struct{ req, line, want string }{
		{"", "1.26.9", "patch"},
		{"", "1.27", "latest"},
		{"patch", "1.27", "latest"},
		{"patch", "1.26.99", "latest"}, // the newest patch did not reach it
		{"go1.26.9", "1.27", "latest"},
		{"latest", "1.99", ""},
	} {
		if got := Allow(c.req, c.line, "go1.26.8"); got != c.want {
			t.Errorf("Allow(%q, %q) = %q, want %q", c.req, c.line, got, c.want)
		}
	}
}
