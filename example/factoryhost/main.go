// Command factoryhost is the example of a host whose plugins register
// nothing themselves: like the OpenTelemetry Collector's components, each
// exports a constructor, NewFactory, and the host keeps a registry of
// factories. go-selfcompile checks that a plugin's NewFactory returns what
// registry.AddProcessor or registry.AddExporter takes, and the rebuilt
// binary passes it there.
//
//	factoryhost                 run every line of stdin through the components
//	factoryhost plugins ...     the command set: add, remove, list, upgrade, ...
package main

//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/example/factoryhost/registry"
	"github.com/selfcompile/go-selfcompile/plugincmd"
)

// options are the host's settings for every rebuild: a plugin registers
// through a constructor named NewFactory whose result one of these takes.
var options = selfcompile.Options{
	RegisterFuncs: []string{
		"github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddProcessor",
		"github.com/selfcompile/go-selfcompile/example/factoryhost/registry.AddExporter",
	},
	Constructors: []string{"NewFactory"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "plugins" {
		os.Exit(plugincmd.Main(ctx, os.Args[2:], plugincmd.Config{Options: options}))
	}
	fmt.Printf("components: %v\n", registry.Names())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		for _, p := range registry.Processors() {
			line = p.Process(line)
		}
		for _, e := range registry.Exporters() {
			e.Export(line)
		}
	}
}
