// Package gocmd is the one place where go-selfcompile runs the go command.
//
// Every invocation goes through [Runner.Run]: it builds a hermetic
// environment ([Runner.Environ]: the user's proxy, checksum and credential
// settings are kept; the build settings and the go command's own places
// are the runner's, and the user's go env file is not read), takes ctx first, runs the command in its own process
// group so that cancelling stops every compiler it started, and returns
// stderr in the error. It also owns what the go command prints for a
// program to read: the packages of go list -json ([Runner.List],
// [Package]) and the modules of go mod download -json
// ([Runner.Download]), and the private go.mod a command given -modfile
// edits ([CopyModFile]).
package gocmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/proc"
)

// Runner runs one go binary with a fixed base environment.
// The zero value runs "go" from PATH with the process environment, cleaned.
type Runner struct {
	// GoBin is the go binary to run. Empty means "go" from PATH.
	GoBin string
	// Base is the environment the runner starts from. Nil means the
	// process environment.
	Base []string
	// Env holds KEY=VALUE settings applied on top of the cleaned process
	// environment for every invocation, e.g. GOROOT, GOCACHE, GOPROXY.
	Env []string
	// InheritEnv passes the base environment through unchanged before
	// Env is applied, for commands that must see the user's own go settings
	// (the generator runs where the host is developed).
	InheritEnv bool
	// OnRun, when set, is called after every invocation with what ran
	// and how long it took (whether it succeeded or not).
	OnRun func(Run)
	// EnvFunc, when set, is called at every invocation and its settings
	// are applied after Env: settings that follow state which changes
	// while a rebuild runs (GODEBUG=goindex=0 once a module of the module
	// cache changed in place; see internal/build.GoEnv).
	EnvFunc func() []string
}

// Run is one finished invocation, as Runner.OnRun reports it.
type Run struct {
	Args     []string // the arguments after "go": the verb first
	Dir      string   // the working directory
	Duration time.Duration
	// Err is nil when it succeeded, else an *Error: the go command's
	// own words are in its Stderr.
	Err error
}

// Invocation is one run of the go command.
type Invocation struct {
	Verb       string   // e.g. "build", "list", "mod"
	Args       []string // arguments after the verb
	Env        []string // KEY=VALUE settings applied last
	WorkingDir string
	Stdout     io.Writer // when set, stdout is streamed here instead of returned
	// Compiled, when set, is called with the import path of each package
	// the go command starts compiling (a package found in the build cache
	// is not compiled): the runner adds -v after the verb, and takes the
	// lines it prints out of stderr. For build, list -export and the like.
	Compiled func(pkg string)
	// Stderr, when set, also receives stderr as it is written.
	Stderr io.Writer
}

// Error is returned when the go command exits unsuccessfully or cannot start.
type Error struct {
	Command  string // the command line, for people
	Dir      string
	ExitCode int    // -1 when the process did not exit normally
	Stderr   string // the tail of stderr
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Command, e.Err)
	if e.Stderr != "" {
		msg += "\n" + e.Stderr
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// stderrTail is how much of stderr an Error keeps.
const stderrTail = 4 << 10

// gracePeriod is how long an interrupted go command has to exit before it
// is killed.
const gracePeriod = 3 * time.Second

// Run runs inv and returns its stdout (nil when inv.Stdout is set).
func (r *Runner) Run(ctx context.Context, inv Invocation) ([]byte, error) {
	bin := r.GoBin
	if bin == "" {
		bin = "go"
	}
	args := append([]string{inv.Verb}, inv.Args...)
	if inv.Compiled != nil {
		args = append([]string{inv.Verb, "-v"}, inv.Args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = inv.WorkingDir
	cmd.Env = r.Environ(inv.Env...)
	cmd.Stdin = nil
	var stdout, stderr bytes.Buffer
	if inv.Stdout != nil {
		cmd.Stdout = inv.Stdout
	} else {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	var compiled *compiledLines
	if inv.Compiled != nil {
		compiled = &compiledLines{report: inv.Compiled, rest: &stderr}
		cmd.Stderr = compiled
	}
	if inv.Stderr != nil {
		cmd.Stderr = io.MultiWriter(cmd.Stderr, inv.Stderr)
	}
	// Interrupted, the go command removes its temporary files.
	proc.Setup(cmd, proc.Interrupt, gracePeriod)

	line := "go " + strings.Join(args, " ")
	start := time.Now()
	err := proc.Run(cmd) // and the compilers it left behind, if any
	if compiled != nil {
		compiled.flush()
	}
	var goErr *Error
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		code := -1
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		}
		goErr = &Error{Command: line, Dir: inv.WorkingDir, ExitCode: code, Stderr: tail(stderr.String()), Err: err}
	}
	if r.OnRun != nil {
		run := Run{Args: args, Dir: inv.WorkingDir, Duration: time.Since(start)}
		if goErr != nil {
			run.Err = goErr
		}
		r.OnRun(run)
	}
	if goErr != nil {
		return nil, goErr
	}
	if inv.Stdout != nil {
		return nil, nil
	}
	return stdout.Bytes(), nil
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > stderrTail {
		s = "..." + s[len(s)-stderrTail:]
	}
	return s
}

// compiledLines is the stderr of an invocation run with -v: each line
// that names a package is reported, the others (errors, downloads) are
// kept for the error. With -v the go command prints a package's import
// path on a line of its own when it starts compiling it; errors and
// other messages have spaces or a colon in them, which an import path
// cannot hold.
type compiledLines struct {
	report  func(pkg string)
	rest    *bytes.Buffer
	partial []byte
}

func (c *compiledLines) Write(p []byte) (int, error) {
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		c.line(c.partial[:i+1])
		c.partial = c.partial[i+1:]
	}
}

func (c *compiledLines) line(l []byte) {
	s := strings.TrimRight(string(l), "\r\n")
	if s != "" && !strings.ContainsAny(s, " \t:#") {
		c.report(s)
		return
	}
	c.rest.Write(l)
}

// flush keeps a last line that has no newline.
func (c *compiledLines) flush() {
	if len(c.partial) > 0 {
		c.line(c.partial)
		c.partial = nil
	}
}

// OutOfDate lists the packages among pkgs and their dependencies that a
// build with flags would compile: those whose compiled form is not in the
// build cache (go list's Stale). A main package is listed whenever its
// binary is to be linked, even if its compiled form is cached.
func (r *Runner) OutOfDate(ctx context.Context, dir string, flags, pkgs []string) ([]string, error) {
	args := append([]string{"-deps", "-f", "{{if .Stale}}{{.ImportPath}}{{end}}"}, flags...)
	args = append(append(args, "--"), pkgs...)
	out, err := r.Run(ctx, Invocation{Verb: "list", Args: args, WorkingDir: dir})
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// CountFrom is how many packages a counted run starts compiling before
// RunCounted lists what it will compile, and so reports its progress: a
// run that compiles fewer (a warm build cache) is over before a total
// would help anyone, and the listing would take a core from it.
const CountFrom = 8

// RunCounted runs inv, a go command that compiles (build, list -export),
// and reports its progress: done counts the packages it started
// compiling, and total those of pkgs and their dependencies that a build
// with flags finds out of date. The total is listed by OutOfDate beside
// the run once it has started compiling CountFrom packages, not before
// it, so that counting costs a warm run nothing (it is what the listing
// finds out of date and what the run compiled before the listing saw
// it); until then progress is not called. It is called again as done grows, with total never below
// done, and once more when the run ends, with the packages it compiled
// as the total. The listing is interrupted if the run ends first.
// progress is called from other goroutines than the caller's, one call at
// a time, and never after RunCounted returns. inv.Compiled, when set, is
// called too, before progress.
func (r *Runner) RunCounted(ctx context.Context, inv Invocation, flags, pkgs []string, progress func(done, total int)) ([]byte, error) {
	var mu sync.Mutex
	compiled := map[string]bool{}
	total, closed := -1, false
	emit := func() {
		if total >= 0 && !closed {
			progress(len(compiled), max(len(compiled), total))
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	count := func() {
		stale, err := r.OutOfDate(lctx, inv.WorkingDir, flags, pkgs)
		if err != nil {
			return // interrupted, or the run reports the problem
		}
		mu.Lock()
		defer mu.Unlock()
		// A package compiled before the listing saw it is no longer out
		// of date; one it saw that the run compiles is in both.
		all := maps.Clone(compiled)
		for _, p := range stale {
			all[p] = true
		}
		total = len(all)
		emit()
	}
	also := inv.Compiled
	inv.Compiled = func(pkg string) {
		if also != nil {
			also(pkg)
		}
		mu.Lock()
		defer mu.Unlock()
		compiled[pkg] = true
		if len(compiled) == CountFrom && total < 0 {
			wg.Go(count)
		}
		emit()
	}
	out, err := r.Run(ctx, inv)
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if n := len(compiled); n > 0 {
		progress(n, n)
	}
	closed = true
	return out, err
}
