package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/verify"
)

const verifyUsage = `usage: go-selfcompile verify [-C DIR] [-register-func FUNC]... [-constructor NAME]... [-tags TAGS] SPEC...

verify checks plugins against a host before anyone builds with them: it
resolves each SPEC (PATH[@VERSION], or a local directory ./dir) as a
rebuild of the host would, and type-checks each plugin with the rebuild's
checks (a package, not a command; compiles; has init code, its own or
that of the packages it brings into the host's build, and calls a
-register-func from it, or declares a -constructor whose result a
-register-func takes). What the package in DIR links already is the
host's: run it in the host's main package directory. It builds nothing and leaves the host's go.mod
and go.sum as they are; it runs the go command found on PATH, in the
host's module (DIR, default "."). Relative directories in SPECs are taken
from the current directory. It exits non-zero when any plugin is refused.`

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("verify", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintln(stderr, verifyUsage)
		fmt.Fprintln(stderr, "\nflags:")
		flags.PrintDefaults()
	}
	dir := flags.String("C", ".", "run in `DIR`, the host's main package directory or any other directory of its module")
	var funcs listFlag
	flags.Var(&funcs, "register-func", "a fully qualified function `FUNC` that each plugin must call from its init code, e.g. example.com/host/registry.Register or (*example.com/host.Registry).Add; repeat to accept any of several")
	var ctors listFlag
	flags.Var(&ctors, "constructor", "the `NAME` of an exported function, e.g. NewFactory, that a plugin may declare instead of registering from init; its result is passed to the -register-func that takes it; repeatable")
	tags := flags.String("tags", "", "comma-separated build `TAGS` the host is built with")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if err := checkVerifyArgs(flags.Args(), funcs); err != nil {
		return err
	}
	specs, err := parseSpecs(flags.Args(), stderr)
	if err != nil {
		return err
	}
	h, err := openHost(ctx, *dir)
	if err != nil {
		return err
	}
	defer h.close()
	if err := verify.CheckSettings(funcs, ctors); err != nil {
		return err
	}
	v := &verification{host: h, stdout: stdout, stderr: stderr, registerFuncs: funcs, constructors: ctors}
	if v.hostPkg, err = hostPattern(h.root, *dir); err != nil {
		return err
	}
	v.buildFlags = []string{"-mod=mod", "-modfile=" + h.modFile}
	if *tags != "" {
		v.buildFlags = append(v.buildFlags, "-tags="+*tags)
	}
	return v.run(ctx, specs)
}

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// checkVerifyArgs catches the usage errors that would otherwise surface
// as confusing spec errors, or only after the plugins were resolved.
func checkVerifyArgs(specs, funcs []string) error {
	if len(specs) == 0 {
		return errors.New("verify needs at least one plugin spec, e.g. go-selfcompile verify example.com/plugin@v1.2.0 (or ./dir for a plugin in a local directory)")
	}
	for _, s := range specs {
		if strings.HasPrefix(s, "-") {
			return fmt.Errorf("flag %s after a plugin spec: give flags before the specs, e.g. go-selfcompile verify %s SPEC...", s, s)
		}
	}
	for _, f := range funcs {
		if !validRegisterFunc(f) {
			return fmt.Errorf("-register-func %q: want a fully qualified function, import/path.Func or (*import/path.Type).Method, e.g. example.com/host/registry.Register", f)
		}
	}
	return nil
}

// validRegisterFunc checks the shape verify.Config.RegisterFuncs
// documents, so that a typo is a usage error before any go command runs.
func validRegisterFunc(s string) bool {
	qual, name := s, ""
	if strings.HasPrefix(s, "(") {
		end := strings.Index(s, ").")
		if end < 0 {
			return false
		}
		qual, name = strings.TrimPrefix(s[1:end], "*"), s[end+2:]
	}
	i := strings.LastIndexByte(qual, '.')
	if i <= strings.LastIndexByte(qual, '/')+1 {
		return false
	}
	if name == "" {
		name = qual[i+1:]
	} else if !token.IsIdentifier(qual[i+1:]) {
		return false
	}
	return token.IsIdentifier(name)
}

// parseSpecs parses every spec. The malformed ones are printed, one line
// each, and stop the command before the go command runs.
func parseSpecs(raw []string, stderr io.Writer) ([]modgen.Spec, error) {
	var specs []modgen.Spec
	bad := 0
	for _, r := range raw {
		s, err := modgen.ParseSpec(r)
		if err != nil {
			fmt.Fprintln(stderr, err)
			bad++
			continue
		}
		specs = append(specs, s)
	}
	if bad > 0 {
		return nil, fmt.Errorf("%s malformed: nothing was checked", count(bad, len(raw), "plugin spec"))
	}
	return specs, nil
}

// count says "1 plugin", "2 of 3 plugins".
func count(n, of int, noun string) string {
	if of > 1 {
		noun += "s"
		return fmt.Sprintf("%d of %d %s", n, of, noun)
	}
	return fmt.Sprintf("%d %s", n, noun)
}

// host is the user's host module, seen through a private copy of its
// go.mod and go.sum: every go command runs with -modfile naming the copy,
// so the user's files are never written.
type host struct {
	module  string // module path
	root    string // directory holding the user's go.mod
	tmp     string // directory holding the copies
	modFile string // the copy of go.mod; the go command pairs it with go.sum beside it
	goRun   *gocmd.Runner
}

// openHost finds the module holding dir with the go command on PATH and
// copies its go.mod and go.sum.
func openHost(ctx context.Context, dir string) (*host, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		why := "not a directory"
		if errors.Is(err, fs.ErrNotExist) {
			why = "no such directory"
		}
		return nil, fmt.Errorf("-C %s: %s: give a directory of the host's module", dir, why)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return nil, fmt.Errorf("the go command is not on PATH (%v): verify runs your Go installation; install Go or add it to PATH", err)
	}
	// The developer's own settings (GOFLAGS from go env -w, GOPROXY,
	// GOOS, ...) apply, as to their go build; a go.work would forbid
	// -modfile, and the host is checked on its own anyway.
	probe := &gocmd.Runner{InheritEnv: true, Env: []string{"GOWORK=off"}}
	out, err := probe.Run(ctx, gocmd.Invocation{Verb: "env", Args: []string{"GOMOD", "GOFLAGS"}, WorkingDir: dir})
	if err != nil {
		return nil, err
	}
	gomod, goflags, _ := strings.Cut(strings.TrimRight(string(out), "\r\n"), "\n")
	gomod, goflags = strings.TrimSpace(gomod), strings.TrimSpace(goflags)
	switch gomod {
	case "":
		return nil, fmt.Errorf("the go command is not in module mode (GO111MODULE=off?): verify checks plugins against a host module")
	case os.DevNull:
		return nil, fmt.Errorf("%s is not inside a Go module (no go.mod at or above it): run verify in the host's source directory, or give it with -C", dir)
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil, err
	}
	mod := modfile.ModulePath(data)
	if mod == "" {
		return nil, fmt.Errorf("%s has no module line", gomod)
	}
	h := &host{module: mod, root: filepath.Dir(gomod)}
	if h.tmp, err = os.MkdirTemp("", "go-selfcompile-verify-"); err != nil {
		return nil, err
	}
	h.modFile = filepath.Join(h.tmp, "go.mod")
	if err := gocmd.CopyModFile(h.root, h.modFile); err != nil {
		h.close()
		return nil, err
	}
	flagsVal, err := goFlags(goflags, "-mod=mod", "-modfile="+h.modFile)
	if err != nil {
		h.close()
		return nil, err
	}
	h.goRun = &gocmd.Runner{InheritEnv: true, Env: []string{"GOWORK=off", "GOFLAGS=" + flagsVal}}
	return h, nil
}

func (h *host) close() { os.RemoveAll(h.tmp) }

// goFlags appends flags to a GOFLAGS value, quoting each one that holds a
// space as the go command's GOFLAGS parser (cmd/internal/quoted) accepts.
func goFlags(user string, flags ...string) (string, error) {
	out := user
	for _, f := range flags {
		if strings.ContainsAny(f, " \t\n\r") {
			switch {
			case !strings.Contains(f, "'"):
				f = "'" + f + "'"
			case !strings.Contains(f, `"`):
				f = `"` + f + `"`
			default:
				return "", fmt.Errorf("cannot pass %s in GOFLAGS: it holds spaces and both kinds of quote; set TMPDIR to a simpler directory", f)
			}
		}
		if out != "" {
			out += " "
		}
		out += f
	}
	return out, nil
}

// verification is one run of verify over a host.
type verification struct {
	host          *host
	stdout        io.Writer
	stderr        io.Writer
	registerFuncs []string
	constructors  []string
	buildFlags    []string
	// hostPkg is the package in -C's directory, as a pattern relative to
	// the module root: what it links is the host's.
	hostPkg string
}

// hostPattern is dir as a package pattern relative to the module root.
func hostPattern(root, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == "." {
		return ".", err
	}
	return "./" + filepath.ToSlash(rel), nil
}

// run makes the plan a rebuild makes (resolve, require in the copy of
// go.mod, load, drift) with the same code, every spec resolved even when
// another is refused, then runs the rebuild's checks, and prints one line
// per spec: "ok ..." on stdout, or the refusal on stderr.
func (v *verification) run(ctx context.Context, specs []modgen.Spec) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	plan, err := modgen.MakePlan(ctx, modgen.Request{
		Go: v.host.goRun, Dir: v.host.root, GoModDir: v.host.tmp, HostModule: v.host.module,
		Specs: specs, BaseDir: wd, BuildFlags: v.buildFlags, KeepGoing: true,
	})
	if err != nil {
		return err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(v.stderr, "warning: %s\n", w)
	}
	for _, d := range plan.Drift {
		fmt.Fprintf(v.stderr, "drift: %v\n", d)
	}
	reports, err := verify.Plugins(ctx, verify.Config{
		Dir:           v.host.root,
		Env:           v.host.goRun.Environ(),
		BuildFlags:    v.buildFlags,
		RegisterFuncs: v.registerFuncs,
		Constructors:  v.constructors,
		Host:          v.hostPkg,
	}, uniquePaths(plan.Added))
	refusals, err := byPlugin(err)
	if err != nil {
		return err // not a refusal: the go command failed
	}
	for _, e := range plan.Refused {
		fmt.Fprintln(v.stderr, e)
	}
	refused := len(plan.Refused)
	for _, a := range plan.Added {
		if e, ok := refusals[a.Path]; ok {
			fmt.Fprintln(v.stderr, e)
			refused++
			continue
		}
		r := reportOf(reports, a.Path)
		if r == nil {
			return fmt.Errorf("verify reported nothing about plugin %s", a.Path)
		}
		fmt.Fprintln(v.stdout, okLine(a, r))
	}
	if refused > 0 {
		return fmt.Errorf("%s refused", count(refused, len(specs), "plugin"))
	}
	return nil
}

// byPlugin indexes the refusals verify.Plugins returned by plugin; any
// other error is returned as it is.
func byPlugin(err error) (map[string]*verify.PluginError, error) {
	refused, ok := verify.Refusals(err)
	if !ok {
		return nil, err
	}
	out := map[string]*verify.PluginError{}
	for _, pe := range refused {
		out[pe.Plugin] = pe
	}
	return out, nil
}

func reportOf(reports []verify.Report, path string) *verify.Report {
	for i := range reports {
		if reports[i].Path == path {
			return &reports[i]
		}
	}
	return nil
}

func uniquePaths(rs []modgen.Resolved) []string {
	seen := map[string]bool{}
	var paths []string
	for _, r := range rs {
		if !seen[r.Path] {
			seen[r.Path] = true
			paths = append(paths, r.Path)
		}
	}
	return paths
}

// okLine describes a plugin that passed: where it comes from, its init
// code and its registration calls, e.g.
//
//	ok example.com/aplugin@v1.2.0: init at aplugin.go:12; registers with example.com/host/registry.Register at aplugin.go:14
func okLine(a modgen.Resolved, r *verify.Report) string {
	name := a.Path
	switch {
	case a.Dir != "":
		name += " (directory " + a.Spec.Path + ")"
	case a.Version != "":
		name += "@" + a.Version
	default:
		name += " (host module)"
	}
	var parts []string
	if len(r.Inits) > 0 {
		parts = append(parts, "init at "+positions(r.Inits))
	}
	if len(r.VarInits) > 0 {
		parts = append(parts, "package-level initialiser at "+positions(r.VarInits))
	}
	var funcs []string
	byFunc := map[string][]token.Position{}
	for _, reg := range r.Registrations {
		if byFunc[reg.Func] == nil {
			funcs = append(funcs, reg.Func)
		}
		byFunc[reg.Func] = append(byFunc[reg.Func], reg.Pos)
	}
	for _, f := range funcs {
		parts = append(parts, "registers with "+f+" at "+positions(byFunc[f]))
	}
	if len(r.Via) > 0 {
		parts = append(parts, "through the init code of "+strings.Join(r.Via, ", "))
	}
	if k := r.Constructor; k != nil {
		parts = append(parts, fmt.Sprintf("registers through its constructor: %s(%s()), a %s", k.Register, k.Func, k.Type))
	}
	return "ok " + name + ": " + strings.Join(parts, "; ")
}

// positions lists positions as file:line. The files of one package share
// a directory, so the base name is enough.
func positions(ps []token.Position) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprintf("%s:%d", filepath.Base(p.Filename), p.Line)
	}
	return strings.Join(s, ", ")
}
