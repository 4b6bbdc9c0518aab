package modgen

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/module"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		raw   string
		path  string
		query string
		kind  QueryKind
	}{
		{"example.com/aplugin", "example.com/aplugin", "latest", Latest},
		{"example.com/aplugin@latest", "example.com/aplugin", "latest", Latest},
		{"example.com/aplugin/sub@v1.2.0", "example.com/aplugin/sub", "v1.2.0", Exact},
		{"example.com/aplugin@v1.4.0-rc.1", "example.com/aplugin", "v1.4.0-rc.1", Exact},
		{"example.com/aplugin@v0.0.0-20240101000000-abcdef123456", "example.com/aplugin", "v0.0.0-20240101000000-abcdef123456", Exact},
		{"example.com/p/v2@v2.0.0", "example.com/p/v2", "v2.0.0", Exact},
		{"example.com/p/v2/sub@v2.1.0", "example.com/p/v2/sub", "v2.1.0", Exact},
		{"example.com/p@v2.0.0+incompatible", "example.com/p", "v2.0.0+incompatible", Exact},
		{"gopkg.in/yaml.v3@v3.0.1", "gopkg.in/yaml.v3", "v3.0.1", Exact},
		{"example.com/aplugin@>=1.2,<2", "example.com/aplugin", ">=1.2,<2", Constraint},
		{"example.com/aplugin@~>1.2", "example.com/aplugin", "~>1.2", Constraint},
		{"example.com/aplugin@!=1.2.3", "example.com/aplugin", "!=1.2.3", Constraint},
		{"example.com/aplugin@1.2.0", "example.com/aplugin", "1.2.0", Constraint},
		{"example.com/aplugin@>=1.4.0-rc.1", "example.com/aplugin", ">=1.4.0-rc.1", Constraint},
		{"./plugins/x", "./plugins/x", "", LocalDir},
		{"../x", "../x", "", LocalDir},
		{".", ".", "", LocalDir},
		{"/abs/x", "/abs/x", "", LocalDir},
	}
	for _, tt := range tests {
		s, err := ParseSpec(tt.raw)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.raw, err)
			continue
		}
		if s.Raw != tt.raw || s.Path != tt.path || s.Query != tt.query || s.Kind != tt.kind {
			t.Errorf("ParseSpec(%q) = {%q %q %v}, want {%q %q %v}", tt.raw, s.Path, s.Query, s.Kind, tt.path, tt.query, tt.kind)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		raw   string
		class error
		want  string // in the message
	}{
		{"", ErrMalformed, "empty spec"},
		{"example.com/a plugin", ErrMalformed, "spaces"},
		{" example.com/aplugin", ErrMalformed, "spaces"},
		{"example.com/aplugin\t", ErrMalformed, "spaces"},
		{"example.com/aplugin@@v1.0.0", ErrMalformed, "more than one '@'"},
		{"example.com/aplugin@v1@v2", ErrMalformed, "more than one '@'"},
		{"@v1.2.0", ErrMalformed, "no path before '@'"},
		{"example.com/aplugin@", ErrMalformed, "no version after '@'"},
		{"example.com/aplugin;rm", ErrMalformed, `character ';'`},
		{"example.com/$(id)", ErrMalformed, `character '$'`},
		{"example.com/a|b", ErrMalformed, `character '|'`},
		{"example.com/a`b`", ErrMalformed, "character '`'"},
		{"example.com/a>b", ErrMalformed, `character '>'`},
		{"example.com/aplugin@v1;id", ErrMalformed, `character ';'`},
		{"example.com/aplugin@$(id)", ErrMalformed, `character '$'`},
		{"example.com/aplugin@>=1.2&&<2", ErrMalformed, `character '&'`},
		{"~/plugins/x", ErrMalformed, "~ was not expanded"},
		{"./x@v1.0.0", ErrMalformed, "a local directory takes no version"},
		{"example.com/aplugin@v1.2", ErrMalformed, "write example.com/aplugin@v1.2.0"},
		{"example.com/aplugin@1.2.0.beta", ErrMalformed, "neither a version"},
		{"example.com/aplugin@master", ErrMalformed, "neither a version"},
		{"example.com/aplugin@>=", ErrMalformed, "neither a version"},
		{"example.com//aplugin", ErrMalformed, "invalid package path"},
		{"example.com/aplugin/", ErrMalformed, "invalid package path"},
		{"example.com/p@v2.0.0", ErrMajor, "write example.com/p/v2@v2.0.0"},
		{"example.com/p/sub@v3.1.0", ErrMajor, "/v3"},
	}
	for _, tt := range tests {
		_, err := ParseSpec(tt.raw)
		var se *SpecError
		if !errors.As(err, &se) {
			t.Errorf("ParseSpec(%q) = %v, want a *SpecError", tt.raw, err)
			continue
		}
		if !errors.Is(err, tt.class) || !strings.Contains(se.Msg, tt.want) || se.Spec != tt.raw {
			t.Errorf("ParseSpec(%q) = %v (class %v), want class %v and a message with %q", tt.raw, err, se.Err, tt.class, tt.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseSpec(%q): message is not one line: %q", tt.raw, err)
		}
	}
}

func TestAllows(t *testing.T) {
	tests := []struct {
		query string
		yes   []string
		no    []string
	}{
		{">=1.2,<2", []string{"v1.2.0", "v1.3.0", "v1.99.0"}, []string{"v1.1.9", "v2.0.0", "v1.4.0-rc.1"}},
		{"~>1.2", []string{"v1.2.0", "v1.9.1"}, []string{"v2.0.0", "v1.1.0"}},
		{"~>1.2.0", []string{"v1.2.0", "v1.2.7"}, []string{"v1.3.0"}},
		{"!=1.3.0", []string{"v1.2.0", "v1.3.1"}, []string{"v1.3.0", "v1.4.0-rc.1"}},
		{">=1.4.0-rc.1", []string{"v1.4.0-rc.1", "v1.4.0", "v1.5.0"}, []string{"v1.3.0", "v1.5.0-rc.1"}},
		{"<2", []string{"v0.1.0", "v1.9.0"}, []string{"v2.0.0", "not-a-version"}},
	}
	for _, tt := range tests {
		s, err := ParseSpec("example.com/m@" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tt.yes {
			if !s.Allows(v) {
				t.Errorf("%s does not allow %s, want it to", tt.query, v)
			}
		}
		for _, v := range tt.no {
			if s.Allows(v) {
				t.Errorf("%s allows %s, want it not to", tt.query, v)
			}
		}
	}
}

func TestMinMajor(t *testing.T) {
	for q, want := range map[string]int{">=2": 2, ">=1.2,<2": 1, "<3": 0, "!=2.0.0": 0, "~>3.1": 3, ">=2.1,>=4,<5": 4, "2.0.0": 2, ">v2.5": 2} {
		s, err := ParseSpec("example.com/m@" + q)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.MinMajor(); got != want {
			t.Errorf("MinMajor(%q) = %d, want %d", q, got, want)
		}
	}
}

// FuzzParseSpec checks that ParseSpec never panics, that every error is a
// one-line *SpecError, and that anything accepted names a valid import
// path or a local directory and survives a round trip through String.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"example.com/aplugin@v1.2.0", "example.com/p/v2@>=2,<3", "./x", "/abs/x", "a@@b", "example.com/m@~>1.2", "example.com/m@v0.0.0-20240101000000-abcdef123456", "gopkg.in/yaml.v3@latest", "x@!=1.2.3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := ParseSpec(raw)
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseSpec(%q) = %q, want a one-line *SpecError", raw, err)
			}
			return
		}
		if s.Kind == LocalDir {
			if !isLocal(s.Path) || s.Query != "" {
				t.Fatalf("ParseSpec(%q) = local %q@%q", raw, s.Path, s.Query)
			}
		} else if err := module.CheckImportPath(s.Path); err != nil {
			t.Fatalf("ParseSpec(%q) accepted path %q: %v", raw, s.Path, err)
		}
		back, err := ParseSpec(s.String())
		if err != nil {
			t.Fatalf("ParseSpec(%q).String() = %q does not parse: %v", raw, s.String(), err)
		}
		if back.Path != s.Path || back.Query != s.Query || back.Kind != s.Kind {
			t.Fatalf("round trip of %q: got {%q %q %v}, want {%q %q %v}", raw, back.Path, back.Query, back.Kind, s.Path, s.Query, s.Kind)
		}
	})
}

// A spec's length and its path's elements are bounded, for resolving
// asks the proxy about every prefix of the path; the refusal is short.
func TestParseSpecBounds(t *testing.T) {
	deep := func(n int) string { return "example.com" + strings.Repeat("/a", n-1) }
	if _, err := ParseSpec(deep(MaxPathElements) + "@v1.0.0"); err != nil {
		t.Errorf("a path of %d elements: %v", MaxPathElements, err)
	}
	for _, raw := range []string{deep(MaxPathElements + 1), deep(20000), "example.com/" + strings.Repeat("a", MaxSpecLen)} {
		_, err := ParseSpec(raw)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "at most") || len(err.Error()) > 200 {
			t.Errorf("ParseSpec(%d bytes) = %v, want a short refusal naming the bound", len(raw), err)
		}
	}
}
