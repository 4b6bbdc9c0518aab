package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// smokePrograms are tiny binaries that speak the smoke protocol directly,
// or misbehave in their init the way a plugin's init can.
const smokePrograms = `
-- go.mod --
module example.com/smoke

go 1.22
-- report/report.go --
// Package report writes a smoke report the way the library's stub does.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Write prints the report for nonce, with the plugins ("path@version,...")
// and registrations ("a,b") the test put in SMOKE_PLUGINS and
// SMOKE_REGISTERED.
func Write(nonce string) {
	type plugin struct {
		Path    string ` + "`json:\"path\"`" + `
		Version string ` + "`json:\"version,omitempty\"`" + `
	}
	plugins := []plugin{}
	for _, p := range list("SMOKE_PLUGINS") {
		path, version, _ := strings.Cut(p, "@")
		plugins = append(plugins, plugin{path, version})
	}
	line, _ := json.Marshal(map[string]any{
		"go_selfcompile_smoke": nonce,
		"plugins":              plugins,
		"registered":           list("SMOKE_REGISTERED"),
	})
	fmt.Printf("\n%s\n", line)
}

// Exec waits until the process pid runs the program named comm, for up
// to 10 s, on Linux (elsewhere, or once pid is gone, it returns at once):
// a daemon started through env or setsid has then cleared its environment
// and left the process group, before the program exits and its group is
// killed.
func Exec(pid int, comm string) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(b)) == comm {
			return
		}
	}
}

func list(key string) []string {
	if v := os.Getenv(key); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}
-- good/main.go --
package main

import (
	"fmt"
	"os"

	"example.com/smoke/report"
)

func init() {
	nonce, ok := os.LookupEnv("GO_SELFCOMPILE_SMOKE")
	if !ok {
		return
	}
	if len(os.Args) > 1 {
		fmt.Println("smoke mode with arguments: the smoke variable leaked")
		os.Exit(5)
	}
	fmt.Println("aplugin activated.")
	report.Write(nonce)
	os.Exit(0)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println("good v1.0.0")
		return
	}
	fmt.Fprintln(os.Stderr, "unknown arguments", os.Args[1:])
	os.Exit(2)
}
-- panics/main.go --
package main

import "fmt"

func init() {
	fmt.Println("about to fail")
	panic("plugin exploded")
}

func main() {}
-- exits/main.go --
package main

import (
	"fmt"
	"os"
)

func init() {
	fmt.Println("giving up")
	os.Exit(3)
}

func main() {}
-- hangs/main.go --
package main

import (
	"fmt"
	"time"
)

func init() {
	fmt.Println("waiting for a server")
	time.Sleep(time.Hour)
}

func main() {}
-- garbage/main.go --
package main

import (
	"fmt"
	"os"
)

func init() {
	for i := 0; i < 200; i++ {
		fmt.Printf("garbage %d \x00\xff{not json\n", i)
	}
	os.Exit(0)
}

func main() {}
-- daemon/main.go --
package main

import (
	"fmt"
	"os"
	"os/exec"

	"example.com/smoke/report"
)

// A daemon in its own session, output closed: the process group kill
// misses it, and it holds no pipe.
func init() {
	nonce, ok := os.LookupEnv("GO_SELFCOMPILE_SMOKE")
	if !ok {
		return
	}
	cmd := exec.Command("setsid", "sleep", "60")
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	report.Exec(cmd.Process.Pid, "sleep")
	fmt.Printf("started %d\n", cmd.Process.Pid)
	report.Write(nonce)
	os.Exit(0)
}

func main() {}
-- cleared/main.go --
package main

import (
	"fmt"
	"os"
	"os/exec"

	"example.com/smoke/report"
)

// A daemon in its own session with an empty environment: neither the
// process group kill nor the run's tag finds it.
func init() {
	nonce, ok := os.LookupEnv("GO_SELFCOMPILE_SMOKE")
	if !ok {
		return
	}
	setsid, err1 := exec.LookPath("setsid")
	sleep, err2 := exec.LookPath("sleep")
	if err1 != nil || err2 != nil {
		fmt.Println(err1, err2)
		os.Exit(1)
	}
	cmd := exec.Command("env", "-i", setsid, sleep, "60")
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	report.Exec(cmd.Process.Pid, "sleep")
	fmt.Printf("started %d\n", cmd.Process.Pid)
	report.Write(nonce)
	os.Exit(0)
}

func main() {}
-- forks/main.go --
package main

import (
	"fmt"
	"os"
	"os/exec"

	"example.com/smoke/report"
)

func init() {
	nonce, ok := os.LookupEnv("GO_SELFCOMPILE_SMOKE")
	if !ok {
		return
	}
	cmd := exec.Command("sleep", "60")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Printf("started %d\n", cmd.Process.Pid)
	report.Write(nonce)
	os.Exit(0)
}

func main() {}
`

var smokeBuild struct {
	once sync.Once
	dir  string
	err  error
}

// smokeBinary returns the path of one of smokePrograms, building all of
// them once per test run with the go command on PATH.
func smokeBinary(t *testing.T, name string) string {
	t.Helper()
	testkit.NeedGo(t)
	smokeBuild.once.Do(func() {
		smokeBuild.dir, smokeBuild.err = buildSmokePrograms()
	})
	if smokeBuild.err != nil {
		t.Fatal(smokeBuild.err)
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	return filepath.Join(smokeBuild.dir, "bin", name+exe)
}

func buildSmokePrograms() (string, error) {
	dir, err := os.MkdirTemp("", "verify-smoke-*")
	if err != nil {
		return "", err
	}
	if err := testkit.UnpackTxtar(dir, smokePrograms); err != nil {
		return dir, err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bin")+string(filepath.Separator), "./...")
	cmd.Dir = dir
	cmd.Env = testkit.GoEnv("CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, errors.New("building the smoke programs: " + err.Error() + "\n" + string(out))
	}
	return dir, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if smokeBuild.dir != "" {
		os.RemoveAll(smokeBuild.dir)
	}
	os.Exit(code)
}

// smokeCase is one run of Check and what it must return.
type smokeCase struct {
	name    string
	program string
	cfg     Config
	msg     []string // substrings of the *Error's message; none means success
	output  []string // substrings of Error.Output
	args    bool     // the failure is in the run with cfg.Args
}

var aplugin = []bundle.Plugin{{Path: "example.com/aplugin", Version: "v1.2.0"}}

var smokeCases = []smokeCase{{
	name:    "good",
	program: "good",
	cfg:     Config{Env: []string{"SMOKE_PLUGINS=example.com/aplugin@v1.2.0", Env + "=stale"}, Want: aplugin},
}, {
	name:    "args",
	program: "good",
	cfg:     Config{Env: []string{"SMOKE_PLUGINS=example.com/aplugin@v1.2.0"}, Want: aplugin, Args: []string{"--version"}},
}, {
	name:    "bad-args",
	program: "good",
	cfg:     Config{Env: []string{"SMOKE_PLUGINS=example.com/aplugin@v1.2.0"}, Want: aplugin, Args: []string{"--bogus"}},
	msg:     []string{`the new binary failed when run with ["--bogus"]: it exited with exit status 2; the host's own command must succeed`},
	output:  []string{"unknown arguments [--bogus]"},
	args:    true,
}, {
	name:    "missing-plugin",
	program: "good",
	cfg:     Config{Want: aplugin},
	msg:     []string{"plugin example.com/aplugin is not linked into it"},
	output:  []string{"aplugin activated."},
}, {
	name:    "wrong-version",
	program: "good",
	cfg:     Config{Env: []string{"SMOKE_PLUGINS=example.com/aplugin@v1.1.0"}, Want: aplugin},
	msg:     []string{"plugin example.com/aplugin is at v1.1.0, want v1.2.0"},
}, {
	name:    "registered",
	program: "good",
	cfg:     Config{Env: []string{"SMOKE_REGISTERED=old,new"}, Before: []string{"old"}, Added: []string{"example.com/new"}},
}, {
	name:    "not-registered",
	program: "good",
	cfg:     Config{Env: []string{"SMOKE_REGISTERED=old,x"}, Before: []string{"old", "x"}, Added: []string{"example.com/new"}},
	msg:     []string{`the host reports 0 new registration(s) [] for 1 new plugin(s) example.com/new`},
}, {
	name:    "not-registered-repeat",
	program: "good",
	cfg:     Config{Env: []string{"SMOKE_REGISTERED=sql,sql"}, Before: []string{"sql"}, Added: []string{"example.com/a", "example.com/b"}},
	msg:     []string{`the host reports 1 new registration(s) ["sql"] for 2 new plugin(s)`},
}, {
	name:    "no-registration-check",
	program: "good",
	cfg:     Config{Added: []string{"example.com/new"}},
}, {
	name:    "panics",
	program: "panics",
	msg:     []string{`smoke test of the new binary failed: it crashed during init (exit status 2) with "panic: plugin exploded"`},
	output:  []string{"about to fail", "goroutine 1"},
}, {
	name:    "exits",
	program: "exits",
	msg:     []string{"it exited with exit status 3 during init; a plugin's init may call os.Exit"},
	output:  []string{"giving up"},
}, {
	name:    "hangs",
	program: "hangs",
	cfg:     Config{Timeout: time.Second},
	msg:     []string{"it did not exit within 1s: a plugin's init may block"},
	output:  []string{"waiting for a server"},
}, {
	name:    "garbage",
	program: "garbage",
	msg:     []string{"it exited 0 without writing the smoke report"},
	output:  []string{"...", "garbage 199"},
}, {
	name:    "forks",
	program: "forks",
	cfg:     Config{Env: []string{"PATH=" + os.Getenv("PATH")}},
	msg:     []string{"it exited, but a process it started kept its output open"},
	output:  []string{"started "},
}}

// TestSmoke runs the smoke programs through Check. Each must end
// promptly (a forked child holding stdout for 60 s must not hold Smoke)
// with the expected message and output tail.
func TestSmoke(t *testing.T) {
	for _, c := range smokeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.program == "forks" {
				testkit.NeedCommand(t, "sleep")
			}
			bin := smokeBinary(t, c.program)
			rep, err := Check(context.Background(), bin, c.cfg)
			if len(c.msg) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if rep == nil || len(rep.Nonce) != 32 {
					t.Fatalf("report %+v", rep)
				}
				return
			}
			checkSmokeError(t, c, bin, err)
		})
	}
}

func checkSmokeError(t *testing.T, c smokeCase, bin string, err error) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *Error", err)
	}
	t.Log(err)
	if se.Binary != bin || (se.Args != nil) != c.args {
		t.Errorf("Binary %q Args %q", se.Binary, se.Args)
	}
	for _, s := range c.msg {
		if !strings.Contains(se.Error(), s) {
			t.Errorf("message lacks %q", s)
		}
	}
	for _, s := range c.output {
		if !strings.Contains(se.Output, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	if len(se.Output) > outputTail+3 {
		t.Errorf("output is %d bytes, more than the tail", len(se.Output))
	}
	if c.program == "forks" {
		checkChildGone(t, se.Output)
	}
}

// TestSmokeContext checks that a ctx ending first is reported as ctx's
// error, not blamed on the binary.
func TestSmokeContext(t *testing.T) {
	bin := smokeBinary(t, "hangs")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Check(ctx, bin, Config{})
	var se *Error
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &se) {
		t.Fatalf("err = %v, want the context's error", err)
	}
}

// TestSmokeNotFound checks a binary that cannot start.
func TestSmokeNotFound(t *testing.T) {
	_, err := Check(context.Background(), filepath.Join(t.TempDir(), "missing"), Config{})
	var se *Error
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "it could not be run") {
		t.Fatalf("err = %v", err)
	}
}

// Write's JSON decodes, with encoding/json, to what was written, whatever
// the strings hold.
func TestWriteIsJSON(t *testing.T) {
	for _, rep := range []Report{
		{Nonce: "abc"},
		{Nonce: "n", GoVersion: "go1.26.8", Plugins: []bundle.Plugin{{Path: "example.com/a", Version: "v1.0.0"}, {Path: "p", Module: "m", Query: ">=1,<2", Dir: "C:\\dir \"x\"\n\t\x01"}}, Registered: []string{"<a&b>", "\u2028ünï\u2029", ""}},
	} {
		checkWriteRoundTrip(t, rep)
	}
}

func FuzzWrite(f *testing.F) {
	f.Add("nonce", "go1.26.8", "example.com/p", "v1.0.0", "reg")
	f.Add("\x00\xff", "\"", "\\", "\u2028", "\xe2\x80")
	f.Fuzz(func(t *testing.T, nonce, gover, path, version, reg string) {
		checkWriteRoundTrip(t, Report{Nonce: nonce, GoVersion: gover, Plugins: []bundle.Plugin{{Path: path, Version: version, Dir: reg}}, Registered: []string{reg}})
	})
}

func checkWriteRoundTrip(t *testing.T, rep Report) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, rep); err != nil {
		t.Fatal(err)
	}
	line := bytes.TrimSpace(buf.Bytes())
	if bytes.ContainsAny(line, "\n\r") {
		t.Fatalf("the report spans lines: %q", line)
	}
	var got Report
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, line)
	}
	want := rep
	if want.Plugins == nil {
		want.Plugins = []bundle.Plugin{}
	}
	// encoding/json replaces each byte of invalid UTF-8.
	fix := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				r = '\ufffd'
			}
			b.WriteRune(r)
			i += n
		}
		return b.String()
	}
	want.Nonce, want.GoVersion = fix(want.Nonce), fix(want.GoVersion)
	for i := range want.Plugins {
		p := &want.Plugins[i]
		p.Path, p.Module, p.Version, p.Query, p.Dir = fix(p.Path), fix(p.Module), fix(p.Version), fix(p.Query), fix(p.Dir)
	}
	for i := range want.Registered {
		want.Registered[i] = fix(want.Registered[i])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v\nwant    %+v\nfrom %s", got, want, line)
	}
}
