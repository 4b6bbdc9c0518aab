// Command go-selfcompile prepares Go programs to rebuild themselves.
//
// Usage:
//
//	go-selfcompile bundle [-platforms GOOS/GOARCH,...] [-tags TAG,...]... [-slim | -prewarm] [-level fastest|default|better|best] [-compressor auto|go|ZSTD] [-cache DIR]
//	go-selfcompile bundle -check
//	go-selfcompile inspect [-json] [DIR | BINARY]
//	go-selfcompile verify [-C DIR] [-register-func FUNC]... [-tags TAGS] SPEC...
//
// "bundle" runs in the host's main package directory, normally through
//
//	//go:generate go run github.com/selfcompile/go-selfcompile/cmd/go-selfcompile bundle
//
// and writes the selfcompile_bundle* files that the next go build embeds.
// With -check it writes nothing and fails when the bundle no longer
// matches the host's source (run it before a release build).
// With -platforms, one run bundles for several platforms: each
// GOOS=... GOARCH=... go build embeds its own platform's toolchain and
// helper (files named ..._GOOS_GOARCH) and the shared source and modules;
// the toolchain of a platform other than the running go's is built from
// the local GOROOT's source, the same Go version. With -tags, the
// dependency modules keep the packages a build with those tags uses too
// (for tags given on the go build command line; GOFLAGS is read anyway).
// "inspect" prints the manifest of the bundle generated in DIR (default
// "."), or describes a built BINARY, for any platform: its Go version and
// platform, its bundle's parts and the plugins it was built with.
// "verify" checks plugins against the host module in DIR (default ".")
// the way a rebuild would, without building and without touching the
// host's go.mod or go.sum: for plugin authors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/generate"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/proc"
	"github.com/selfcompile/go-selfcompile/internal/rebuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "go-selfcompile: %v\n", err)
		}
		os.Exit(1)
	}
}

const usage = `usage:
  go-selfcompile bundle [-platforms GOOS/GOARCH,...] [-tags TAG,...]... [-slim | -prewarm] [-level fastest|default|better|best] [-compressor auto|go|ZSTD] [-cache DIR]
  go-selfcompile bundle -check
  go-selfcompile inspect [-json] [DIR | BINARY]
  go-selfcompile verify [-C DIR] [-register-func FUNC]... [-tags TAGS] SPEC...`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "bundle":
		return cmdBundle(ctx, args[1:], stdout, stderr)
	case "inspect":
		return cmdInspect(args[1:], stdout, stderr)
	case "verify":
		return cmdVerify(ctx, args[1:], stdout, stderr)
	case helper.Verb:
		// Not for people: a rebuilding binary runs its bundled copy of
		// this command to do what must not run in its own process.
		// The daemons a smoke-tested binary leaves become this process's
		// children, for package smoke to kill and reap. A host that went
		// leaves a broken pipe: writing to it must fail, not kill the
		// helper before it stops the go commands it runs.
		becomeSubreaper()
		signal.Ignore(syscall.SIGPIPE)
		return rebuild.Serve(ctx, os.Stdin, stdout, rebuild.Process{Stopped: exitSoon, SetPATH: setPATH})
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// setPATH sets this process's PATH until restore is called, for the
// helper's type-check (see rebuild.Process). What else the helper starts
// meanwhile is named by its full path (the go commands by the bundled
// GOROOT) with an environment of its own.
func setPATH(path string) (restore func(), err error) {
	old, had := os.LookupEnv("PATH")
	if err := os.Setenv("PATH", path); err != nil {
		return nil, err
	}
	return func() {
		if had {
			os.Setenv("PATH", old)
		} else {
			os.Unsetenv("PATH")
		}
	}, nil
}

// stopGrace is how long a stopped helper request has to end before the
// helper kills what it started and exits with exitStopped: long enough
// for go commands to stop on SIGINT, short enough that nothing is seen
// outliving its host.
const (
	stopGrace   = time.Second
	exitStopped = 3
)

// exitSoon ends the helper stopGrace from now, with the process groups
// of the commands it started.
func exitSoon() {
	time.AfterFunc(stopGrace, func() {
		proc.KillAll()
		os.Exit(exitStopped)
	})
}

var levels = map[string]archive.Level{
	"fastest": archive.LevelFast,
	"default": archive.LevelDefault,
	"better":  archive.LevelBetter,
	"best":    archive.LevelBest,
}

func cmdBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	level := fs.String("level", "best", "zstd level of the toolchain archive: fastest, default, better or best")
	compressor := fs.String("compressor", "auto", "what compresses the toolchain archive at -level best: auto (the zstd command if on PATH, else the zstd package), go (the package), or a zstd command")
	cache := fs.String("cache", "", "directory that keeps toolchain archives between runs (default: go-selfcompile in the user cache directory)")
	var platforms []string
	fs.Func("platforms", "comma-separated GOOS/GOARCH list to bundle for, each build embedding only its own platform's toolchain (default: go env GOOS/GOARCH, single-platform file names)", func(v string) error {
		platforms = []string{}
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				platforms = append(platforms, p)
			}
		}
		return nil
	})
	var tags []string
	fs.Func("tags", "build tags the host is built with, comma-separated as go build -tags takes them; repeat for each set: the bundle keeps the packages those builds use as well as those of a build without tags", func(v string) error {
		tags = append(tags, v)
		return nil
	})
	slim := fs.Bool("slim", false, "embed only the manifest and the host's source; a rebuild fetches the toolchain and the modules through GOPROXY (about 1 MiB instead of 25 MiB; the first rebuild needs the network)")
	prewarm := fs.Bool("prewarm", false, "add the compiled standard packages the host uses, so that a first rebuild does not compile them (about 7 MB for a small host)")
	check := fs.Bool("check", false, "write nothing; exit non-zero when the bundle in this directory no longer matches the host's source (for CI and release scripts)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("bundle takes no arguments; run it in the host's main package directory")
	}
	if *check {
		if err := generate.Check(ctx, generate.Options{}); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "go-selfcompile: the bundle matches the host's source")
		return nil
	}
	if *slim && *prewarm {
		return fmt.Errorf("-slim and -prewarm: a slim bundle carries no compiled packages; choose one")
	}
	l, ok := levels[*level]
	if !ok {
		return fmt.Errorf("-level %q: want fastest, default, better or best", *level)
	}
	_, err := generate.Run(ctx, generate.Options{Level: l, Compressor: *compressor, CacheDir: *cache, Prewarm: *prewarm, Platforms: platforms, Tags: tags, Slim: *slim, Stdout: stdout})
	return err
}

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	target := "."
	if fs.NArg() > 0 {
		target = fs.Arg(0)
	}
	fi, err := os.Stat(target)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return inspectDir(target, stdout)
	}
	return inspectBinary(target, *asJSON, stdout)
}
