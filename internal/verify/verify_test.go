package verify

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// registryArchive is the module every plugin case is unpacked into: a
// local registry package with the functions plugins register with.
const registryArchive = `
-- go.mod --
module example.com/p

go 1.22
-- registry/registry.go --
package registry

var names []string

// Register is the registration function of the test host.
func Register(name string) bool {
	names = append(names, name)
	return true
}

// Registry is a registry with a method to register with.
type Registry struct{ names []string }

// Add registers name.
func (r *Registry) Add(name string) { r.names = append(r.names, name) }

// Default is the registry plugins add to.
var Default = &Registry{}

// Registrar is what a plugin may register through, dynamically.
type Registrar interface{ Register(name string) bool }
`

// testRegisterFuncs are the registration functions of the cases.
var testRegisterFuncs = []string{"example.com/p/registry.Register", "(*example.com/p/registry.Registry).Add"}

// pluginCase is one plugin package, its files relative to its own
// directory, and what Plugins must say about it.
type pluginCase struct {
	name    string
	archive string
	want    Reason   // "" means the plugin passes
	msg     []string // substrings of the refusal
	pos     string   // PluginError.Pos
	regs    []string // Report.Registrations as "Func@file:line"
	inits   int      // len(Report.Inits)
	vars    int      // len(Report.VarInits)
}

var pluginCases = []pluginCase{{
	name: "direct",
	archive: `
-- plugin.go --
package direct

import "example.com/p/registry"

func init() {
	registry.Register("direct")
}
`,
	regs:  []string{"example.com/p/registry.Register@direct/plugin.go:6"},
	inits: 1,
}, {
	name: "helper",
	archive: `
-- plugin.go --
package helper

func init() { setup() }

func setup() { register("helper") }
-- register.go --
package helper

import "example.com/p/registry"

func register(name string) { registry.Register(name) }
`,
	regs:  []string{"example.com/p/registry.Register@helper/register.go:5"},
	inits: 1,
}, {
	name: "varinit",
	archive: `
-- plugin.go --
package varinit

import "example.com/p/registry"

var _ = registry.Register("varinit")
`,
	regs: []string{"example.com/p/registry.Register@varinit/plugin.go:5"},
	vars: 1,
}, {
	name: "methodvalue",
	archive: `
-- plugin.go --
package methodvalue

import "example.com/p/registry"

type plug struct{ name string }

func (p *plug) register() { registry.Register(p.name) }

func init() {
	f := (&plug{"m"}).register
	f()
}
`,
	regs:  []string{"example.com/p/registry.Register@methodvalue/plugin.go:7"},
	inits: 1,
}, {
	name: "funcvalue",
	archive: `
-- plugin.go --
package funcvalue

import (
	"sync"

	"example.com/p/registry"
)

var once sync.Once

func init() { once.Do(register) }

func register() { registry.Register("f") }
`,
	regs:  []string{"example.com/p/registry.Register@funcvalue/plugin.go:13"},
	inits: 1,
}, {
	name: "funclit",
	archive: `
-- plugin.go --
package funclit

import "example.com/p/registry"

var ok = func() bool {
	return registry.Register("lit")
}()
`,
	regs: []string{"example.com/p/registry.Register@funclit/plugin.go:6"},
	vars: 1,
}, {
	name: "method",
	archive: `
-- plugin.go --
package method

import "example.com/p/registry"

func init() {
	registry.Default.Add("method")
}
`,
	regs:  []string{"(*example.com/p/registry.Registry).Add@method/plugin.go:6"},
	inits: 1,
}, {
	name: "unrelated",
	archive: `
-- plugin.go --
package unrelated

import "fmt"

func init() {
	fmt.Println("hello")
}
`,
	want: NoRegistration,
	msg:  []string{"plugin example.com/p/unrelated does not call example.com/p/registry.Register or (*example.com/p/registry.Registry).Add from its init code (unrelated/plugin.go:5:1)"},
	pos:  "unrelated/plugin.go:5:1",
}, {
	name: "exported",
	archive: `
-- plugin.go --
package exported

import (
	"fmt"

	"example.com/p/registry"
)

func init() { fmt.Println("loaded") }

// Register must be called by the host; init does not.
func Register() { registry.Register("exported") }
`,
	want: NoRegistration,
	msg:  []string{"it calls example.com/p/registry.Register at exported/plugin.go:12:19, but from code that its init code does not reach"},
	pos:  "exported/plugin.go:12:19",
}, {
	name: "iface",
	archive: `
-- plugin.go --
package iface

import "example.com/p/registry"

type impl struct{}

func (impl) Register(name string) bool { return registry.Register(name) }

func init() {
	var r registry.Registrar = impl{}
	r.Register("iface")
}
`,
	want: NoRegistration,
	msg:  []string{"calls through an interface", "at iface/plugin.go:7:49"},
}, {
	name: "otherpkg",
	archive: `
-- plugin.go --
package otherpkg

import "example.com/p/otherpkg/sub"

func init() { sub.Setup() }
-- sub/sub.go --
package sub

import "example.com/p/registry"

// Setup registers from another package, which does not count.
func Setup() { registry.Register("sub") }
`,
	want: NoRegistration,
	msg:  []string{"from its init code (otherpkg/plugin.go:5:1)"},
}, {
	name: "typeerror",
	archive: `
-- plugin.go --
package typeerror

import "example.com/p/registry"

func init() {
	registry.Register(42)
}
`,
	want: TypeErrors,
	msg:  []string{"does not compile for ", "typeerror/plugin.go:6:20: cannot use 42"},
	pos:  "typeerror/plugin.go:6:20",
}, {
	name: "manyerrors",
	archive: `
-- plugin.go --
package manyerrors

func init() {
	a1()
	a2()
	a3()
	a4()
	a5()
	a6()
	a7()
}
`,
	want: TypeErrors,
	msg:  []string{"manyerrors/plugin.go:4:2: undefined: a1", "manyerrors/plugin.go:8:2: undefined: a5; and 2 more."},
}, {
	name: "command",
	archive: `
-- main.go --
// Command command is not a plugin.
package main

import "example.com/p/registry"

func main() { registry.Register("main") }
`,
	want: IsCommand,
	msg:  []string{"is package main (command/main.go:2:1), a command, not a plugin"},
	pos:  "command/main.go:2:1",
}, {
	name: "noinit",
	archive: `
-- plugin.go --
package noinit

type T struct{ n int }

var (
	t = T{n: 1}
	n = len("abc")
	c = int64(3)
	m = make(map[string]int)
	f = func() { panic("only when called") }
)

func init() {}

// Hello is exported but never called.
func Hello() {}
`,
	want: NoInitCode,
	msg:  []string{"has no init code", "by calling example.com/p/registry.Register"},
}, {
	name: "excluded",
	archive: `
-- plugin.go --
//go:build neverset

package excluded

func init() {}
`,
	want: NoFiles,
	msg:  []string{"has no Go files for ", "build constraints exclude every file"},
}}

// pluginModule writes the registry module with each case in a directory
// of its own and returns the module directory.
func pluginModule(t *testing.T, cases []pluginCase) string {
	t.Helper()
	testkit.NeedGo(t)
	dir := t.TempDir()
	testkit.WriteTxtar(t, dir, registryArchive)
	for _, c := range cases {
		testkit.WriteTxtar(t, filepath.Join(dir, c.name), c.archive)
	}
	return dir
}

// refusals indexes the *PluginErrors in err by plugin.
func refusals(t *testing.T, err error) map[string]*PluginError {
	t.Helper()
	out := map[string]*PluginError{}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var pe *PluginError
		if e == nil {
			continue
		}
		if !errors.As(e, &pe) {
			t.Fatalf("not a *PluginError: %v", e)
		}
		out[pe.Plugin] = pe
	}
	return out
}

// TestPlugins loads every case in one go and checks what Plugins says
// about each: the refusals, their reasons, positions and messages, and
// for a plugin that passes its init code and registration calls.
func TestPlugins(t *testing.T) {
	dir := pluginModule(t, pluginCases)
	var paths []string
	for _, c := range pluginCases {
		paths = append(paths, "example.com/p/"+c.name)
	}
	paths = append(paths, "example.com/p/nope", "example.com/p/registry/testonly")
	testkit.WriteTxtar(t, dir, "-- registry/testonly/x_test.go --\npackage testonly\n")
	cfg := Config{Dir: dir, Env: testkit.GoEnv(), RegisterFuncs: testRegisterFuncs}
	reports, err := Plugins(context.Background(), cfg, paths)
	refused := refusals(t, err)
	byPath := map[string]Report{}
	for _, r := range reports {
		byPath[r.Path] = r
	}
	for _, c := range pluginCases {
		t.Run(c.name, func(t *testing.T) {
			path := "example.com/p/" + c.name
			if c.want == "" {
				checkPassed(t, c, byPath[path], refused[path])
			} else {
				checkRefused(t, c, refused[path])
			}
		})
	}
	t.Run("nope", func(t *testing.T) {
		checkRefused(t, pluginCase{want: NotFound, msg: []string{"plugin example.com/p/nope does not exist at this version: "}}, refused["example.com/p/nope"])
	})
	t.Run("testonly", func(t *testing.T) {
		checkRefused(t, pluginCase{want: NoFiles, msg: []string{"plugin example.com/p/registry/testonly has no Go files to build"}}, refused["example.com/p/registry/testonly"])
	})
}

func checkPassed(t *testing.T, c pluginCase, r Report, refused *PluginError) {
	t.Helper()
	if refused != nil {
		t.Fatalf("refused: %v", refused)
	}
	if r.Path == "" {
		t.Fatal("no report")
	}
	var regs []string
	for _, reg := range r.Registrations {
		regs = append(regs, fmt.Sprintf("%s@%s:%d", reg.Func, filepath.ToSlash(reg.Pos.Filename), reg.Pos.Line))
	}
	if fmt.Sprint(regs) != fmt.Sprint(c.regs) {
		t.Errorf("registrations %q, want %q", regs, c.regs)
	}
	if len(r.Inits) != c.inits || len(r.VarInits) != c.vars {
		t.Errorf("inits %v, var inits %v; want %d and %d", r.Inits, r.VarInits, c.inits, c.vars)
	}
}

func checkRefused(t *testing.T, c pluginCase, e *PluginError) {
	t.Helper()
	if e == nil {
		t.Fatalf("not refused, want %s", c.want)
	}
	msg := e.Error()
	t.Log(msg)
	if e.Reason != c.want {
		t.Errorf("reason %s, want %s", e.Reason, c.want)
	}
	for _, s := range c.msg {
		if !strings.Contains(filepath.ToSlash(msg), s) {
			t.Errorf("message lacks %q", s)
		}
	}
	if c.pos != "" && filepath.ToSlash(e.Pos) != c.pos {
		t.Errorf("Pos %q, want %q", e.Pos, c.pos)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is more than one paragraph")
	}
}

// TestPluginsWithoutRegisterFuncs checks that without RegisterFuncs any
// init code passes and only its absence is refused.
func TestPluginsWithoutRegisterFuncs(t *testing.T) {
	cases := []pluginCase{pluginCases[7], pluginCases[14]} // unrelated, noinit
	if cases[0].name != "unrelated" || cases[1].name != "noinit" {
		t.Fatal("pluginCases moved; fix the indexes")
	}
	dir := pluginModule(t, cases)
	var ran []string
	onGo := func(args []string, d time.Duration) {
		if d <= 0 {
			t.Errorf("go %q took %v", args, d)
		}
		ran = append(ran, strings.Join(args, " "))
	}
	reports, err := Plugins(context.Background(), Config{Dir: dir, Env: testkit.GoEnv(), OnGoCommand: onGo}, []string{"example.com/p/unrelated", "example.com/p/noinit"})
	// Every go command go/packages ran was reported: the type-check's
	// go list -export of the plugin that passed the first checks among them.
	typeCheck := false
	for _, r := range ran {
		if strings.HasPrefix(r, "list ") && strings.Contains(r, "-export=true") && strings.HasSuffix(r, " -- example.com/p/unrelated example.com/p/noinit") {
			typeCheck = true
		}
	}
	if !typeCheck {
		t.Errorf("go commands reported: %q; want the type-check's go list -export=true ... -- example.com/p/unrelated example.com/p/noinit", ran)
	}
	if len(reports) != 1 || reports[0].Path != "example.com/p/unrelated" || len(reports[0].Registrations) != 0 {
		t.Errorf("reports %+v, want one for unrelated without registrations", reports)
	}
	var pe *PluginError
	if !errors.As(err, &pe) || pe.Plugin != "example.com/p/noinit" || pe.Reason != NoInitCode || strings.Contains(pe.Msg, "by calling") {
		t.Errorf("err = %v, want noinit refused without a register function named", err)
	}
}

// TestTypeCheckWaitsForCaller checks that Config.TypeCheck runs after the
// checks that compile nothing (a package main is refused before it) and
// before the type-check: an error it returns ends Plugins, with no
// go list -export run.
func TestTypeCheckWaitsForCaller(t *testing.T) {
	cases := []pluginCase{pluginCases[7]} // unrelated
	if cases[0].name != "unrelated" {
		t.Fatal("pluginCases moved; fix the index")
	}
	dir := pluginModule(t, cases)
	var ran []string
	onGo := func(args []string, d time.Duration) { ran = append(ran, strings.Join(args, " ")) }
	stop := errors.New("not yet")
	calls := 0
	cfg := Config{Dir: dir, Env: testkit.GoEnv(), OnGoCommand: onGo, TypeCheck: func(context.Context) error {
		calls++
		if len(ran) == 0 {
			t.Error("TypeCheck called before any go command: the checks that compile nothing come first")
		}
		return stop
	}}
	_, err := Plugins(context.Background(), cfg, []string{"example.com/p/unrelated"})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Plugins = %v after %d TypeCheck calls; want TypeCheck's error after one", err, calls)
	}
	for _, r := range ran {
		if strings.Contains(r, "-export=true") {
			t.Errorf("go %s ran: the type-check must wait for TypeCheck", r)
		}
	}
	// A plugin the checks that compile nothing refuse waits for nothing.
	calls = 0
	if _, err := Plugins(context.Background(), cfg, []string{"example.com/p/nosuch"}); err == nil || errors.Is(err, stop) || calls != 0 {
		t.Errorf("Plugins(nosuch) = %v after %d TypeCheck calls; want its refusal, without a call", err, calls)
	}
	calls = 1
	// Let go: the same plugin passes.
	cfg.TypeCheck = func(context.Context) error { calls++; return nil }
	reports, err := Plugins(context.Background(), cfg, []string{"example.com/p/unrelated"})
	if err != nil || len(reports) != 1 || calls != 2 {
		t.Errorf("Plugins = %+v, %v after %d TypeCheck calls; want one report after two", reports, err, calls)
	}
}
