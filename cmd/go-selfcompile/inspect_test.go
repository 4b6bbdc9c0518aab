package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// A crafted manifest that would clear the screen, set the terminal's
// title and draw a fake line is printed quoted: the output holds no
// control character but the tabwriter's spaces and its own newlines.
func TestInspectQuotesControlCharacters(t *testing.T) {
	evil := []string{
		"\x1b[2J\x1b[H",    // clear the screen
		"\x1b]0;pwned\x07", // the terminal's title
		"v1.0.0\nplugins  example.com/trusted v9.9.9", // a line of its own
		"ok\rexample.com/covered",                     // overwrite the line
		"\u202eexample.com/reversed",                  // right-to-left override
		"\x9b31m",                                     // a C1 CSI
		"bad \xff utf-8",
	}
	m := &bundle.Manifest{Format: bundle.FormatVersion, GoVersion: evil[0], GOOS: "linux", GOARCH: "amd64",
		Parts:   map[string]bundle.Part{bundle.ToolchainFile: {Size: 1}},
		Rebuild: &bundle.Rebuild{GoVersion: evil[1], Settings: []string{"-tags=" + evil[5]}, Sums: []string{evil[6]}}}
	rep := &binaryReport{Binary: "bin", GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64", Main: "example.com/host", Version: evil[2], Bundle: m}
	for _, p := range evil {
		rep.Plugins = append(rep.Plugins, bundle.Plugin{Path: "example.com/p" + p, Version: "v1.0.0" + p, Query: p, Module: "example.com/p"})
	}
	var out bytes.Buffer
	if err := printBinary(&out, rep); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !utf8.ValidString(text) {
		t.Errorf("output is not valid UTF-8")
	}
	for _, r := range text {
		if r != '\n' && !unicode.IsPrint(r) {
			t.Errorf("output holds %U:\n%s", r, text)
			break
		}
	}
	if n, want := strings.Count(text, "\n"), 9+len(evil); n != want {
		t.Errorf("%d lines, want %d:\n%s", n, want, text)
	}
	if !strings.Contains(text, `"\x1b[2J\x1b[H"`) {
		t.Errorf("the escape is not shown quoted:\n%s", text)
	}
	if quote("example.com/p v1.2.0") != "example.com/p v1.2.0" {
		t.Errorf("quote changed a plain string")
	}
}
