//go:build e2e

package integration

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// event is an event line of plugins --json.
type event struct {
	Kind       string   `json:"kind"`
	Stage      string   `json:"stage"`
	DurationMS *float64 `json:"duration_ms"`
	Error      string   `json:"error"`
	Done       *int     `json:"done"`
	Total      *int     `json:"total"`
	Message    string   `json:"message"`
	Args       []string `json:"args"`
	Dir        string   `json:"dir"`
}

// TestProgressAndGoCommands installs a plugin on a fresh cache, where the
// source stage starts compiling the standard packages the bundle names
// while it unpacks the modules, and the go build compiles what is left,
// verify waiting for it: the JSON stream counts the packages the go build
// compiles, as it compiles them, under verify while verify waits and
// under build after, and reports every go command run with its arguments
// and duration; --verbose logs them; without --json the stage lines say
// how many packages each stage compiled.
func TestProgressAndGoCommands(t *testing.T) {
	bin := install(t, exampleBinary(t))
	dir := filepath.Dir(bin)
	environ := env("XDG_CACHE_HOME=" + t.TempDir())
	cmd := exec.Command(bin, "plugins", "add", "--json", "--verbose", "example.com/aplugin@v1.2.0")
	cmd.Dir, cmd.Env = dir, environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("plugins add: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var events []event
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var v struct {
			Event  *event          `json:"event"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if v.Event != nil {
			events = append(events, *v.Event)
		} else if v.Result == nil {
			t.Errorf("stdout line %q is neither an event nor the result", line)
		}
	}

	var ended []string
	progress := map[string][][2]int{}
	goArgs := map[string][]string{}
	for _, e := range events {
		switch e.Kind {
		case "done", "failed":
			ended = append(ended, e.Stage+" "+e.Kind)
			if e.DurationMS == nil {
				t.Errorf("%s event of %s without a duration", e.Kind, e.Stage)
			}
		case "progress":
			progress[e.Stage] = append(progress[e.Stage], [2]int{*e.Done, *e.Total})
		case "go":
			if e.DurationMS == nil || *e.DurationMS <= 0 || e.Dir == "" || len(e.Args) == 0 {
				t.Errorf("go event %+v: want its args, dir and duration", e)
			}
			goArgs[e.Stage] = append(goArgs[e.Stage], strings.Join(e.Args, " "))
		}
	}
	want := []string{"prepare done", "toolchain done", "source done", "modgen done", "verify done", "build done", "smoke done", "swap done", "cleanup done"}
	if !slices.Equal(ended, want) {
		t.Errorf("stages ended %q, want %q", ended, want)
	}
	// The go build compiles many packages (a count, from the eighth
	// package on), counted under verify while verify waits for them.
	for stage, atLeast := range map[string]int{"verify": 20, "build": 1} {
		p := progress[stage]
		if len(p) == 0 {
			t.Errorf("%s reported no progress", stage)
			continue
		}
		t.Logf("%s: %d progress events, the first %v, the last %v", stage, len(p), p[0], p[len(p)-1])
		if p[0][1] < atLeast || stage == "verify" && (len(p) < 2 || p[0][1] != p[len(p)-1][1]) {
			t.Errorf("%s progress %v, want a total of at least %d first%s", stage, p, atLeast, map[bool]string{true: ", the one it ends with, before the end"}[stage == "verify"])
			continue
		}
		for i := 1; i < len(p); i++ {
			if step := p[i][0] - p[i-1][0]; step < 0 || step > 1 || p[i][0] > p[i][1] {
				t.Errorf("%s progress step %v after %v, want one more package (or the last report), within the total", stage, p[i], p[i-1])
			}
		}
		if last := p[len(p)-1]; last[0] != last[1] {
			t.Errorf("%s progress ends at %v, want every package it counted compiled", stage, last)
		}
	}
	has := func(list []string, prefix, part string) bool {
		return slices.ContainsFunc(list, func(s string) bool { return strings.HasPrefix(s, prefix) && strings.Contains(s, part) })
	}
	// The standard packages, while the modules are unpacked: the example
	// uses fmt.
	if !has(goArgs["source"], "list -e -deps -export ", " fmt ") {
		t.Errorf("source stage's go commands %q, want the standard packages compiled ahead (list -export ... fmt ...)", goArgs["source"])
	}
	if !has(goArgs["modgen"], "mod download ", "example.com/aplugin@v1.2.0") || !has(goArgs["verify"], "list ", " -export=true ") || !has(goArgs["build"], "build -v ", " -o ") {
		t.Errorf("go commands by stage %q: want modgen's go mod download, go/packages' list -export=true in verify, go build -v in build", goArgs)
	}
	if !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="go command" stage=build args="\[build -v `).MatchString(stderr.String()) {
		t.Errorf("--verbose logged no go build:\n%s", stderr.String())
	}

	// Without --json: a line per stage, with the packages it compiled.
	out := run(t, true, dir, environ, bin, "plugins", "add", "example.com/bplugin@v1.0.0")
	if !regexp.MustCompile(`(?m)^selfcompile: build     done in \S+, [1-9][0-9]* packages? compiled$`).MatchString(out) {
		t.Errorf("no build line with the packages it compiled:\n%s", out)
	}
	mustNotContain(t, out, "\r")
}
