package rebuild

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
	"github.com/selfcompile/go-selfcompile/internal/verify"
)

// settings are how the new binary is built: the original build's flags
// and environment, and where the go command keeps its caches.
type settings struct {
	flags []string // the original build's flags
	env   []string // the original build's environment (GOOS, CGO_ENABLED, ...), then the caller's
	cache string
}

func newSettings(job *helper.Job, warn func(string, ...any)) *settings {
	flags, env := buildSettings(job.Settings)
	env = cgoFallback(env, warn)
	return &settings{flags: flags, env: append(env, job.Env...), cache: job.Cache}
}

// buildSettings turns recorded build settings into go build flags and
// environment. VCS stamps are not build inputs, and the unpacked source
// has no VCS: -buildvcs=false.
func buildSettings(recorded []helper.Setting) (flags, env []string) {
	flags = []string{"-buildvcs=false"}
	for _, s := range recorded {
		switch s.Key {
		case "-buildmode", "-compiler", "-gcflags", "-ldflags", "-asmflags", "-tags":
			flags = append(flags, s.Key+"="+s.Value)
		case "-trimpath", "-race", "-msan", "-asan":
			if s.Value == "true" {
				flags = append(flags, s.Key)
			}
		default:
			if buildEnv[s.Key] {
				env = append(env, s.Key+"="+s.Value)
			}
		}
	}
	return flags, env
}

// buildEnv are the environment variables that change what the go command
// builds, which the go command itself records in a binary's build
// information: the only ones a rebuild takes from the previous build, and
// the only ones of the caller's (Options.Env) it records in the new
// binary, where a GOPROXY with credentials, say, must not end up.
var buildEnv = map[string]bool{
	"CGO_ENABLED": true, "GOOS": true, "GOARCH": true, "GOEXPERIMENT": true, "GOFIPS140": true,
	"GOAMD64": true, "GOARM": true, "GOARM64": true, "GO386": true, "GOMIPS": true, "GOMIPS64": true,
	"GOPPC64": true, "GORISCV64": true, "GOWASM": true,
	"CGO_CFLAGS": true, "CGO_CPPFLAGS": true, "CGO_CXXFLAGS": true, "CGO_LDFLAGS": true,
}

// record is what the new binary's rebuild record keeps of the settings:
// the flags, and of the environment, in order, only what changes the
// build (buildEnv).
func (s *settings) record() []string {
	out := slices.Clone(s.flags)
	for _, kv := range s.env {
		if k, _, ok := strings.Cut(kv, "="); ok && buildEnv[k] {
			out = append(out, kv)
		}
	}
	return out
}

// cgoFallback follows the go command's own default when the original build
// had cgo on but this machine has no C compiler: build with cgo off.
// Standard packages such as os/user (imported by archive/tar) and net link
// runtime/cgo whenever cgo is on, yet have pure-Go versions, so a host
// built on a developer's machine still rebuilds on one without gcc. A
// package that really needs cgo then fails in verify or build, saying so.
func cgoFallback(env []string, warn func(string, ...any)) []string {
	if v, _ := gocmd.Lookup(env, "CGO_ENABLED"); v != "1" {
		return env
	}
	cc, found := verify.CCompiler(append(os.Environ(), env...))
	if found {
		return env
	}
	warn("the original build had CGO_ENABLED=1 but no C compiler (%s) is on PATH: building with CGO_ENABLED=0, as the go command does by default; install a C compiler to keep cgo", cc)
	return append(env, "CGO_ENABLED=0")
}

// goRunner is the bundled go command with the rebuild's environment: the
// original build's settings and the caller's, over what the rebuild itself
// decides (see gocmd.Runner.Environ for what passes from the machine),
// and what the module cache's state asks for (build.GoEnv).
func (s *settings) goRunner(goroot, modCache string) *gocmd.Runner {
	env := []string{
		"GOROOT=" + goroot,
		"GOCACHE=" + filepath.Join(s.cache, "gocache"),
		"GOMODCACHE=" + modCache,
		"GOFLAGS=-mod=mod -modcacherw",
	}
	return &gocmd.Runner{
		GoBin:   toolchain.GoBin(goroot),
		Env:     append(env, s.env...),
		EnvFunc: func() []string { return build.GoEnv(modCache) },
	}
}

// downloadRunner is the bundled go command that downloads a module to
// complete it (build.Completer): the user's fetching settings, no build
// flags, and the module cache given with each command.
func (s *settings) downloadRunner(goroot string) *gocmd.Runner {
	env := []string{
		"GOROOT=" + goroot,
		"GOCACHE=" + filepath.Join(s.cache, "gocache"),
	}
	return &gocmd.Runner{GoBin: toolchain.GoBin(goroot), Env: append(env, s.env...)}
}
