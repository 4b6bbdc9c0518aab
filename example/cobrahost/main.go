// Command cobrahost is an example host whose command line is built with
// github.com/spf13/cobra: it mounts the ready-made plugin command set
// (package plugincmd) as its "plugins" command, with cobra's flag parsing
// off so that the command set parses its own arguments.
//
//	cobrahost                      list what is registered
//	cobrahost plugins add SPEC...  and the rest of the command set
//
// It lives in a module of its own so that go-selfcompile's module does not
// require cobra; its go.mod replaces go-selfcompile with this repository.
// Plugins register with the example's registry, as example/aplugin does.
package main

//go:generate go tool go-selfcompile bundle

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/example/abinary/registry"
	"github.com/selfcompile/go-selfcompile/plugincmd"
	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// execute runs the command line args and returns the exit code.
func execute(ctx context.Context, args []string) int {
	code := 0
	root := &cobra.Command{
		Use:   "cobrahost",
		Short: "An example host that installs plugins into itself",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "registered: [%s]\n", strings.Join(registry.Names(), " "))
		},
	}
	root.AddCommand(&cobra.Command{
		Use:   "plugins add|remove|list|upgrade|rollback|verify ...",
		Short: "Manage the plugins built into this program",
		// The command set parses its own flags (--dry-run, --json, ...)
		// and prints its own usage.
		DisableFlagParsing: true,
		Run: func(cmd *cobra.Command, args []string) {
			code = plugincmd.Main(cmd.Context(), args, plugincmd.Config{
				Name:   "cobrahost plugins",
				Stdout: cmd.OutOrStdout(),
				Stderr: cmd.ErrOrStderr(),
				Options: selfcompile.Options{
					RegisterFuncs: []string{"github.com/selfcompile/go-selfcompile/example/abinary/registry.Register"},
				},
			})
		},
	})
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		return plugincmd.ExitRefused // cobra printed the usage error
	}
	return code
}
