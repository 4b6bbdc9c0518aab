package plugincmd_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/plugincmd"
)

// A host mounts the command set under its own command name, e.g. when
// os.Args[1] is "plugins", and exits with the code Main returns. This
// example's binary was never rebuilt, so it lists no plugins.
func ExampleMain() {
	code := plugincmd.Main(context.Background(), []string{"list"}, plugincmd.Config{
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
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	_, err := selfcompile.New(selfcompile.Options{
		Plugins: []string{"example.com/aplugin@v1.2.0"},
		OnEvent: plugincmd.LogEvents(logger),
	}).Run(context.Background())
	if err != nil {
		logger.Error("rebuild failed", "error", err)
	}
}
