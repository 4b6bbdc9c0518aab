// Command webhost is an example server that installs plugins into itself
// and restarts into the new binary without dropping a connection.
//
//	webhost serve [-addr ADDRESS] [-pidfile FILE] [-addrfile FILE]
//	                               answer each HTTP request with the plugins
//	                               registered and the server's pid
//	webhost plugins add SPEC...    and the rest of the command set (package
//	                               plugincmd); after a swap, hand over to the
//	                               new binary
//
// The hand-over uses github.com/cloudflare/tableflip: on SIGHUP the
// server starts the binary now at its path (the rebuilt one) with the
// same arguments and passes it the listening socket; once the new process
// is ready (it writes its pid to the pid file), the old one stops
// accepting, lets in-flight requests finish (http.Server.Shutdown) and
// exits. The socket is never closed, so no connection is refused. The
// plugins command's Config.AfterSwap sends that SIGHUP to the pid in the
// pid file and waits for the new pid there.
//
// tableflip rather than systemd socket activation: it needs no service
// manager, so it works the same under systemd (ExecReload=kill -HUP
// $MAINPID, PIDFile=), in a container, in a test, on Linux, the BSDs and
// macOS. It cannot work on Windows (no fork and exec with inherited
// descriptors): there serve says so and exits; the plugins commands work.
//
// The pid file is, unless -pidfile or WEBHOST_PIDFILE says otherwise,
// the executable's path with ".pid" added: a directory only those who can
// replace the binary can write, so no one else can name the process that
// gets the signal.
//
// It lives in a module of its own so that go-selfcompile's module does not
// require tableflip; its go.mod replaces go-selfcompile with this
// repository. Plugins register with the example's registry, as
// example/aplugin does.
package main

//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/plugincmd"
)

// registerFuncs are what every plugin of this program must call from its
// init code.
var registerFuncs = []string{"github.com/selfcompile/go-selfcompile/example/abinary/registry.Register"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return serve(ctx, args[1:])
		case "plugins":
			return plugincmd.Main(ctx, args[1:], plugincmd.Config{
				Name:      "webhost plugins",
				Options:   selfcompile.Options{RegisterFuncs: registerFuncs},
				AfterSwap: handOver(defaultPIDFile(), os.Stderr),
			})
		}
	}
	fmt.Fprintln(os.Stderr, "usage: webhost serve [-addr ADDRESS] [-pidfile FILE] [-addrfile FILE]\n       webhost plugins add|remove|list|upgrade|rollback|verify ...")
	return plugincmd.ExitRefused
}

// defaultPIDFile is WEBHOST_PIDFILE, or the executable's path with
// ".pid" added.
func defaultPIDFile() string {
	if f := os.Getenv("WEBHOST_PIDFILE"); f != "" {
		return f
	}
	exe, err := os.Executable()
	if err != nil {
		return "webhost.pid"
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return exe + ".pid"
}
