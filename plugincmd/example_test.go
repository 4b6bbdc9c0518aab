package plugincmd_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/plugincmd"
)

// A host mounts the command set under its own command name, e.g. when
// os.Args[1] is "plugins", and exits with the code Main returns. Main
// handles Ctrl-C itself; the host's own cancellation (here a deadline)
// stops it too. This example's binary was never rebuilt, so it lists no
// plugins.
func ExampleMain() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	code := plugincmd.Main(ctx, []string{"list"}, plugincmd.Config{
		Name:    "myhost plugins",
		Options: selfcompile.Options{RegisterFuncs: []string{"example.com/myhost/registry.Register"}},
	})
	fmt.Println("exit code", code)
	// Output:
	// no plugins
	// exit code 0
}

// A host that calls the library itself logs every go command of a
// rebuild, with its arguments and duration, to its slog.Logger.
func ExampleLogEvents() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	_, err := selfcompile.New(selfcompile.Options{
		Plugins: []string{"example.com/aplugin@v1.2.0"},
		OnEvent: plugincmd.LogEvents(logger),
	}).Run(ctx)
	if err != nil {
		logger.Error("rebuild failed", "error", err)
	}
}
