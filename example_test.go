package selfcompile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// A host installs a plugin into itself. The binary must carry a bundle
// (go generate with go-selfcompile bundle); the running executable is
// replaced only once the new one passed its checks.
func ExampleCompiler_Run() {
	// Ctrl-C stops the rebuild and leaves the binary as it was; without
	// it the host would die and its rebuild with it, telling nobody.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := selfcompile.New(selfcompile.Options{
		Plugins:       []string{"example.com/aplugin@v1.2.0"},
		RegisterFuncs: []string{"example.com/host/registry.Register"},
		Progress:      os.Stderr,
	}).Run(ctx)
	if errors.Is(err, selfcompile.ErrRefused) {
		fmt.Println("not installed:", err) // a bad spec, a plugin that fails its checks, ...
		return
	}
	if err != nil {
		fmt.Println("rebuild failed:", err)
		return
	}
	for _, p := range res.Added {
		fmt.Println("installed", p.Path, p.Version)
	}
	for _, d := range res.Drift {
		fmt.Println("moved:", d)
	}
}

// The plugins the running binary was built with. This example's binary
// was never rebuilt.
func ExampleInstalled() {
	plugins := selfcompile.Installed()
	if len(plugins) == 0 {
		fmt.Println("no plugins")
	}
	for _, p := range plugins {
		fmt.Println(p.Path, p.Version)
	}
	// Output: no plugins
}

// Going back to the binary that was in place before the last rebuild.
// This example's binary was never rebuilt, so it has no backup.
func ExampleRollback() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exe, err := selfcompile.Rollback(ctx)
	if errors.Is(err, selfcompile.ErrNoBackup) {
		fmt.Println("nothing to roll back to")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("restored the previous binary at", exe)
	// Output: nothing to roll back to
}

// A host that shows the rebuild's progress its own way follows the
// events: stages, package counts while the go command compiles,
// warnings, drift, and every go command run.
func ExampleOptions_onEvent() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := selfcompile.Options{
		Plugins: []string{"example.com/aplugin@v1.2.0"},
		OnEvent: func(e selfcompile.Event) {
			switch e.Kind {
			case selfcompile.StageDone:
				fmt.Printf("%s took %v\n", e.Stage, e.Duration)
			case selfcompile.StageProgress:
				fmt.Printf("%s: %d/%d packages\n", e.Stage, e.Done, e.Total)
			case selfcompile.GoCommandRan:
				fmt.Printf("go %s (%v)\n", strings.Join(e.Args, " "), e.Duration)
			case selfcompile.WarningRaised:
				fmt.Println("warning:", e.Message)
			}
		},
	}
	if _, err := selfcompile.New(opts).Run(ctx); err != nil {
		fmt.Println(err)
	}
}
