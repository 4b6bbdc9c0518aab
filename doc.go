// Package selfcompile rebuilds the running Go program with plugins added
// or removed, using the Go toolchain and source bundled into the program
// itself, and replaces the executable only after the new binary passed its
// checks.
//
// # For a host
//
// A host enables it with one generator line in its main package (with the
// generator a tool of its module: go get -tool
// github.com/selfcompile/go-selfcompile/cmd/go-selfcompile),
//
//	//go:generate go tool go-selfcompile bundle
//
// and installs plugins where it decides to:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	res, err := selfcompile.New(selfcompile.Options{Plugins: []string{"example.com/aplugin@v1.2.0"}}).Run(ctx)
//
// The context is what stops a rebuild (Ctrl-C above): a host that dies
// takes its rebuild with it too, but says nothing.
//
// Run works through a pipeline of stages (prepare, toolchain, source,
// modgen, verify, build, smoke, swap, cleanup), wired in run.go; a failure
// is reported as a *StageError naming the stage, and leaves the running
// binary untouched. A refusal (a bad spec, a plugin that fails its checks,
// drift the policy refuses) matches [ErrRefused]; errors.As finds an
// [*Error] saying what was refused: its Kind, and the Plugin, Spec and
// Reason when it names them. The stages from toolchain to smoke run in the helper,
// the go-selfcompile command the bundle carries, so that what only a
// rebuild needs costs a host no code. [Installed] lists what the running
// binary was built with; [Rollback] puts the previous binary back.
//
// Package plugincmd is a ready-made command set (plugins add, remove,
// list, upgrade, rollback, verify, with --dry-run and --json) that a host
// mounts in one line, with the standard library's flag package or any
// other (example/cobrahost mounts it in a spf13/cobra command).
//
// # Following a rebuild
//
// A first rebuild compiles the standard library and every dependency,
// which takes a minute or more for a large host. [Options].Progress shows
// it: on a terminal a live line for the running stage with its elapsed
// time and, while the go command compiles (the go build, which verify
// waits for before its type-check, then the build stage), how many
// packages it compiled out of how many it found out of date; elsewhere a
// line per stage as it ends. [Options].OnEvent
// receives every [Event], which encodes as a JSON line: stage starts and
// ends with durations and errors, package counts, warnings, drift, and
// each go command run with its arguments and duration. To log those to a
// log/slog Logger, use plugincmd.LogEvents, which keeps log/slog
// out of hosts that do not log.
//
// # For a plugin author
//
// A plugin is an ordinary Go package, in a module of its own, that
// registers itself with the host from its init code, the way a
// database/sql driver does:
//
//	package myplugin
//
//	import "example.com/host/registry"
//
//	func init() { registry.Register("myplugin", New) }
//
// Installing it links it into the host with a blank import. Before any
// build, a rebuild type-checks it under the host's build settings and
// refuses a package that does not compile, is a command (package main),
// has no init code, or, when the host names its registration functions
// (Options.RegisterFuncs), never calls one of them from init. After the
// build it runs the new binary in smoke mode: every package's init runs,
// so an init that panics, exits or blocks is refused before the binary
// replaces anything. Keep init to registering: no network, no files, no
// goroutines that must finish.
//
// The plugin's own tests can check that importing it registers it, with
// the host's registry and no host at all:
//
//	func TestRegisters(t *testing.T) {
//		if !slices.Contains(registry.Names(), "myplugin") {
//			t.Fatal("importing myplugin registered nothing")
//		}
//	}
//
// Test a plugin against a host without building anything, from the
// host's source:
//
//	go-selfcompile verify -C path/to/host -register-func example.com/host/registry.Register example.com/myplugin@latest
//
// which prints where the plugin's init code is and which registration
// calls it reaches, or why it would be refused, and leaves the host's
// go.mod and go.sum as they were. A host that mounts package plugincmd
// offers the same check against the built binary, with the host's own
// settings and toolchain: "HOST plugins verify example.com/myplugin@latest"
// (or a local directory, ./myplugin), which resolves, type-checks and
// reports, and builds and replaces nothing. Tag releases with semantic versions:
// hosts ask for exact versions, "latest" or constraints such as
// ">=1.2,<2", and a major version 2 or later lives at a module path
// ending in /v2, as Go requires.
package selfcompile
