package verify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// shapesArchive is a host shaped like the real ones: a main package that
// links a registry and a component of its own (which registers in init),
// a registry of factories fed by constructors, and another module of
// plugins reached through a replace.
const shapesArchive = `
-- go.mod --
module example.com/h

go 1.22

require example.com/other v0.0.0

replace example.com/other => ./other
-- cmd/h/main.go --
package main

import (
	_ "example.com/h/corecomp"
	_ "example.com/h/registry"
)

func main() {}
-- component/component.go --
// Package component defines the kinds of factories.
package component

type ProcessorFactory interface{ Processor() string }

type ExporterFactory interface{ Exporter() string }

type ReceiverFactory interface{ Receiver() string }
-- registry/registry.go --
package registry

import "example.com/h/component"

var names []string

func Register(name string) { names = append(names, name) }

func AddProcessor(f component.ProcessorFactory) { names = append(names, f.Processor()) }

func AddExporter(fs ...component.ExporterFactory) {}
-- corecomp/corecomp.go --
// Package corecomp is the host's own component: it registers in init.
package corecomp

import "example.com/h/registry"

func init() { registry.Register("core") }
-- agg/agg.go --
// Package agg only imports packages that register.
package agg

import (
	_ "example.com/h/agg/internal/impl"
	_ "example.com/other/reg"
)
-- agg/internal/impl/impl.go --
package impl

import "example.com/h/registry"

func init() { registry.Register("impl") }
-- aggnone/aggnone.go --
// Package aggnone imports the host's component and a package with no init code.
package aggnone

import (
	_ "example.com/h/corecomp"
	_ "example.com/other/pure"
)
-- fproc/fproc.go --
package fproc

import "example.com/h/component"

var kind = string([]byte("proc"))

type factory struct{}

func (factory) Processor() string { return kind }

func NewFactory() component.ProcessorFactory { return factory{} }
-- frecv/frecv.go --
package frecv

import "example.com/h/component"

type factory struct{}

func (factory) Receiver() string { return "recv" }

func NewFactory() component.ReceiverFactory { return factory{} }
-- fboth/fboth.go --
package fboth

type Factory struct{}

func (Factory) Processor() string { return "p" }

func (Factory) Exporter() string { return "e" }

func NewFactory() Factory { return Factory{} }
-- other/go.mod --
module example.com/other

go 1.22

require example.com/h v0.0.0
-- other/reg/reg.go --
package reg

import "example.com/h/registry"

func init() { registry.Register("other") }
-- other/pure/pure.go --
package pure

func Hello() string { return "hello" }
`

var shapesRegisterFuncs = []string{"example.com/h/registry.Register", "example.com/h/registry.AddProcessor", "example.com/h/registry.AddExporter"}

func shapesConfig(t *testing.T) Config {
	t.Helper()
	testkit.NeedGo(t)
	dir := t.TempDir()
	testkit.WriteTxtar(t, dir, shapesArchive)
	return Config{Dir: dir, Env: testkit.GoEnv(), RegisterFuncs: shapesRegisterFuncs, Constructors: []string{"NewFactory"}, Host: "./cmd/h"}
}

// TestPluginShapes checks the three shapes plugins ship in: an aggregator
// that registers through the packages it brings (of its own module,
// internal to it, and of another module), a constructor whose result one
// registration function takes, and the refusals of each.
func TestPluginShapes(t *testing.T) {
	cfg := shapesConfig(t)
	paths := []string{"example.com/h/agg", "example.com/h/aggnone", "example.com/h/fproc", "example.com/h/frecv", "example.com/h/fboth"}
	reports, err := Plugins(context.Background(), cfg, paths)
	refused := refusals(t, err)
	byPath := map[string]Report{}
	for _, r := range reports {
		byPath[r.Path] = r
	}
	t.Run("aggregator", func(t *testing.T) {
		r := byPath["example.com/h/agg"]
		if refused["example.com/h/agg"] != nil || r.Path == "" {
			t.Fatalf("refused: %v", refused["example.com/h/agg"])
		}
		if want := []string{"example.com/h/agg/internal/impl", "example.com/other/reg"}; !slices.Equal(r.Via, want) {
			t.Errorf("Via = %q, want %q", r.Via, want)
		}
		if len(r.Registrations) != 2 {
			t.Errorf("registrations %v, want impl's and reg's", r.Registrations)
		}
	})
	t.Run("aggregator of nothing new", func(t *testing.T) {
		// The host's own component registers in init, but it ran before
		// the plugin: importing it registers nothing new.
		checkRefused(t, pluginCase{want: NoInitCode, msg: []string{"has no init code", "example.com/other/pure", "so importing it registers nothing"}}, refused["example.com/h/aggnone"])
	})
	t.Run("constructor", func(t *testing.T) {
		r := byPath["example.com/h/fproc"]
		if refused["example.com/h/fproc"] != nil {
			t.Fatalf("refused: %v", refused["example.com/h/fproc"])
		}
		want := Construction{Func: "NewFactory", Register: "example.com/h/registry.AddProcessor", Type: "component.ProcessorFactory"}
		if r.Constructor == nil || *r.Constructor != want {
			t.Errorf("Constructor = %+v, want %+v", r.Constructor, want)
		}
	})
	t.Run("constructor that fits none", func(t *testing.T) {
		checkRefused(t, pluginCase{want: NoMatchingConstructor, msg: []string{"NewFactory returns component.ReceiverFactory", "example.com/h/registry.AddProcessor takes component.ProcessorFactory", "AddExporter takes component.ExporterFactory"}}, refused["example.com/h/frecv"])
	})
	t.Run("constructor that fits two", func(t *testing.T) {
		checkRefused(t, pluginCase{want: AmbiguousConstructor, msg: []string{"NewFactory() fboth.Factory to example.com/h/registry.AddProcessor", "to example.com/h/registry.AddExporter"}}, refused["example.com/h/fboth"])
	})
}

// TestRefusedWithoutCompiling checks that a plugin with nothing that can
// register is refused by the checks that read source and go list alone:
// Config.TypeCheck is not waited for and no go command compiles (none
// asks for export data).
func TestRefusedWithoutCompiling(t *testing.T) {
	cfg := shapesConfig(t)
	var ran []string
	cfg.OnGoCommand = func(args []string, d time.Duration) { ran = append(ran, strings.Join(args, " ")) }
	cfg.TypeCheck = func(context.Context) error {
		t.Error("TypeCheck called for plugins refused without types")
		return nil
	}
	_, err := Plugins(context.Background(), cfg, []string{"example.com/h/aggnone", "example.com/other/pure"})
	refused := refusals(t, err)
	if len(refused) != 2 {
		t.Fatalf("refused %v, want both", err)
	}
	checkRefused(t, pluginCase{want: NoInitCode, msg: []string{"neither it nor any package it brings into the build imports example.com/h/registry"}}, refused["example.com/other/pure"])
	for _, r := range ran {
		if strings.Contains(r, "-export=true") || strings.Contains(r, "-compiled=true") {
			t.Errorf("go %s ran: a refusal from source compiles nothing", r)
		}
	}
}

// TestRegisterFuncsOfTheHost checks that a RegisterFuncs entry that names
// nothing in the host's build is the host's error, before any plugin is
// checked, naming the setting.
func TestRegisterFuncsOfTheHost(t *testing.T) {
	for _, c := range []struct{ fn, want string }{
		{"example.com/h/registry.Registr", `RegisterFuncs entry "example.com/h/registry.Registr" names nothing: package example.com/h/registry declares no function Registr: fix the host's RegisterFuncs`},
		{"(*example.com/h/registry.T).Add", `declares no method Add of type T`},
		{"example.com/h/nosuch.Register", `the host's build has no package example.com/h/nosuch`},
	} {
		cfg := shapesConfig(t)
		cfg.RegisterFuncs = []string{c.fn}
		cfg.Constructors = nil
		cfg.TypeCheck = func(context.Context) error {
			t.Errorf("%s: TypeCheck called: a bad host setting is reported first", c.fn)
			return nil
		}
		_, err := Plugins(context.Background(), cfg, []string{"example.com/h/agg"})
		if _, ok := Refusals(err); ok || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want a host error containing %q", c.fn, err, c.want)
		}
		var se *SettingError
		if !errors.As(err, &se) || se.Setting != "RegisterFuncs" || se.Entry != c.fn {
			t.Errorf("%s: err = %#v, want a *SettingError of RegisterFuncs naming the entry", c.fn, err)
		}
	}
	cfg := shapesConfig(t)
	cfg.RegisterFuncs = nil
	_, err := Plugins(context.Background(), cfg, []string{"example.com/h/fproc"})
	if err == nil || !strings.Contains(err.Error(), "Constructors NewFactory need a package-level function among RegisterFuncs") {
		t.Errorf("Constructors without RegisterFuncs: err = %v", err)
	}
	var pe *PluginError
	if errors.As(err, &pe) {
		t.Errorf("a host setting error is not a plugin's refusal: %v", pe)
	}
	var se *SettingError
	if !errors.As(err, &se) || se.Setting != "Constructors" {
		t.Errorf("Constructors without RegisterFuncs: err = %#v, want a *SettingError of Constructors", err)
	}
}

// TestManyRegisterFuncsNamedBriefly: a host with many registration
// functions (Benthos has 26) gets refusals that name a few of them.
func TestManyRegisterFuncsNamedBriefly(t *testing.T) {
	var funcs []registerFunc
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		funcs = append(funcs, registerFunc{spec: "example.com/r.Register" + n})
	}
	got := funcNames(funcs)
	if want := "one of the host's 5 RegisterFuncs (example.com/r.RegisterA, example.com/r.RegisterB, example.com/r.RegisterC, ...)"; got != want {
		t.Errorf("funcNames = %q, want %q", got, want)
	}
	if got := funcNames(funcs[:2]); got != "example.com/r.RegisterA or example.com/r.RegisterB" {
		t.Errorf("funcNames of two = %q", got)
	}
}
