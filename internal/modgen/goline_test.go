package modgen

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckGoLines(t *testing.T) {
	added := func(line string) []Resolved {
		return []Resolved{{Spec: Spec{Raw: "example.com/newgo@latest"}, Module: "example.com/newgo", Version: "v1.0.0", GoLine: line}}
	}
	for _, c := range []struct {
		req        Request
		line, want string
	}{
		{Request{GoVersion: "go1.26.8", BundledGo: "go1.26.8"}, "1.26.9", `but this binary's Go is go1.26.8: allow the move to a newer Go with Options.Toolchain "patch" (plugins add --go=patch`},
		{Request{GoVersion: "go1.26.8", BundledGo: "go1.26.8"}, "1.27", `Options.Toolchain "latest"`},
		{Request{GoVersion: "go1.26.11", BundledGo: "go1.26.8", Toolchain: "patch"}, "1.27", `but toolchain "patch" selects go1.26.11: allow the move to a newer Go with Options.Toolchain "latest"`},
		{Request{GoVersion: "go1.27.2", BundledGo: "go1.26.8", Toolchain: "latest"}, "1.28", `but toolchain "latest" selects go1.27.2, the newest release GOPROXY lists: ask another version of the plugin`},
	} {
		err := checkGoLines(c.req, added(c.line))
		var se *SpecError
		if !errors.As(err, &se) || !errors.Is(err, ErrNeedsGo) {
			t.Errorf("go %s with %+v: %v, want a *SpecError of ErrNeedsGo", c.line, c.req, err)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, `plugin "example.com/newgo@latest": example.com/newgo@v1.0.0 needs go `+c.line+" (its go.mod's go line), ") || !strings.Contains(msg, c.want) {
			t.Errorf("go %s: %q, want one line with %q", c.line, msg, c.want)
		}
	}
	for _, line := range []string{"", "1.21", "1.26.8"} {
		if err := checkGoLines(Request{GoVersion: "go1.26.8"}, added(line)); err != nil {
			t.Errorf("go %q: %v", line, err)
		}
	}
	if err := checkGoLines(Request{}, added("1.99")); err != nil {
		t.Errorf("no Go version given: %v", err)
	}
}

func TestExplainNeedsGo(t *testing.T) {
	base := errors.New("go: example.com/dep@v1.0.0 requires go >= 1.27 (running go 1.26.8; GOTOOLCHAIN=local)")
	err := explainNeedsGo(Request{GoVersion: "go1.26.8", BundledGo: "go1.26.8"}, base)
	if !errors.Is(err, base) || !strings.Contains(err.Error(), `allow the move to a newer Go with Options.Toolchain "latest"`) {
		t.Errorf("got %v", err)
	}
	other := errors.New("go: no network")
	if got := explainNeedsGo(Request{}, other); got != other {
		t.Errorf("another failure changed: %v", got)
	}
}
