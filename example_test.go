package selfcompile_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// A host installs a plugin into itself. The binary must carry a bundle
// (go generate with go-selfcompile bundle); the running executable is
// replaced only once the new one passed its checks.
func ExampleCompiler_Run() {
	res, err := selfcompile.New(selfcompile.Options{
		Plugins:       []string{"example.com/aplugin@v1.2.0"},
		RegisterFuncs: []string{"example.com/host/registry.Register"},
		Progress:      os.Stderr,
	}).Run(context.Background())
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

// The plugins the running binary was built with.
func ExampleInstalled() {
	for _, p := range selfcompile.Installed() {
		fmt.Println(p.Path, p.Version)
	}
}

// Going back to the binary that was in place before the last rebuild.
func ExampleRollback() {
	exe, err := selfcompile.Rollback(context.Background())
	if errors.Is(err, selfcompile.ErrNoBackup) {
		fmt.Println("nothing to roll back to")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("restored the previous binary at", exe)
}
