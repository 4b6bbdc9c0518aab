// Command abinary is the example host: a program that installs plugins
// into itself.
//
//	abinary                      do binary things, list the plugins
//	abinary --plugin SPEC ...    rebuild with the plugin added
//	abinary --remove PATH ...    rebuild without it
//	abinary --rollback           go back to the previous binary
//	abinary plugins ...          the ready-made command set (package plugincmd)
package main

//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/example/abinary/registry"
	"github.com/selfcompile/go-selfcompile/plugincmd"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

// registerFuncs are what every plugin of this program must call from its
// init code.
var registerFuncs = []string{"github.com/selfcompile/go-selfcompile/example/abinary/registry.Register"}

func main() {
	// Ctrl-C or SIGTERM cancels a rebuild: it stops, and the binary stays
	// as it was.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The ready-made command set: abinary plugins add|remove|list|upgrade|rollback|verify.
	if len(os.Args) > 1 && os.Args[1] == "plugins" {
		code := plugincmd.Main(ctx, os.Args[2:], plugincmd.Config{Options: selfcompile.Options{RegisterFuncs: registerFuncs}})
		stop()
		os.Exit(code)
	}
	var plugins, remove list
	flag.Var(&plugins, "plugin", "install plugin `SPEC` (PATH[@VERSION]); repeatable")
	flag.Var(&remove, "remove", "remove the plugin with this module or package `PATH`; repeatable")
	output := flag.String("output", "", "write the rebuilt binary to this `FILE` instead of replacing this one")
	rollback := flag.Bool("rollback", false, "restore the previous binary (run again to undo)")
	smokeTimeout := flag.Duration("smoke-timeout", 0, "how long the new binary may take to start in the smoke test (default 30s)")
	keep := flag.Bool("keep-workdir", false, "keep the work directory of a failed rebuild, for debugging")
	dryRun := flag.Bool("dry-run", false, "resolve and check the plugins, and say what would be installed; build nothing")
	refuseVulns := flag.Bool("refuse-vulns", false, "refuse a known vulnerability the rebuild would bring in (database: GOVULNDB)")
	flag.Parse()

	if *rollback {
		exe, err := selfcompile.Rollback(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "abinary: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "abinary: rolled back %s\n", exe)
		return
	}
	if len(plugins) == 0 && len(remove) == 0 {
		fmt.Println("Just doing binary things")
		for _, p := range selfcompile.Installed() {
			switch {
			case p.Dir != "":
				fmt.Printf("plugin %s from %s\n", p.Path, p.Dir)
			case p.Version == "":
				fmt.Printf("plugin %s (part of this program's module)\n", p.Path)
			default:
				fmt.Printf("plugin %s %s\n", p.Path, p.Version)
			}
		}
		fmt.Printf("registered: [%s]\n", strings.Join(registry.Names(), " "))
		return
	}

	res, err := selfcompile.New(selfcompile.Options{
		Plugins:     plugins,
		Remove:      remove,
		Output:      *output,
		KeepWorkDir: *keep,
		// A plugin must register with this binary's registry from init.
		RegisterFuncs: registerFuncs,
		SmokeTimeout:  *smokeTimeout,
		DryRun:        *dryRun,
		Progress:      os.Stderr,
		Vulns:         vulnPolicy(*refuseVulns),
	}).Run(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "abinary: %v\n", err)
		os.Exit(1)
	}
	verb := "installed"
	if *dryRun {
		verb = "would install"
	}
	for _, p := range res.Added {
		fmt.Fprintf(os.Stderr, "abinary: %s %s\n", verb, strings.TrimSpace(p.Path+" "+p.Version))
	}
	if res.Binary != "" { // empty when there was nothing to do
		fmt.Fprintf(os.Stderr, "abinary: wrote %s\n", res.Binary)
	}
}

func vulnPolicy(refuse bool) selfcompile.VulnPolicy {
	if refuse {
		return selfcompile.RefuseVulns
	}
	return selfcompile.WarnVulns
}
