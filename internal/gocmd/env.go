package gocmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The environment of a rebuild's go command is decided here, not by the
// machine it runs on: a rebuild must build what the original build built.
//
//   - Kept, from the process environment and, where the environment does
//     not set them, from the user's go env file (go env -w): where modules
//     come from and how they are fetched and checked ([Fetching]), the C
//     tools of this machine ([MachineTools]), and every variable that is
//     not a go setting (HOME, PATH, NETRC, SSL_CERT_FILE, HTTPS_PROXY,
//     GIT_*, CGO_CFLAGS_ALLOW, ...).
//   - Never kept: what the binary's build settings decide (GOFLAGS,
//     GOEXPERIMENT, GOFIPS140, GOOS, GOARCH and their variants, CGO_ENABLED,
//     CGO_CFLAGS, CGO_CPPFLAGS, CGO_CXXFLAGS, CGO_FFLAGS, CGO_LDFLAGS), and
//     what the runner itself decides (GOROOT, GOPATH, GOCACHE, GOMODCACHE,
//     GOTOOLCHAIN, GOWORK, GOENV, GOBIN, GO111MODULE, GODEBUG, GOCOVERDIR,
//     GOPACKAGESDRIVER, GOTELEMETRY, GOTELEMETRYDIR).
//   - The go command reads no user env file (GOENV=off): what it would
//     have taken from there is in the list above or left out on purpose.

// Fetching are the settings of where modules come from and how they are
// checked: a rebuild fetches plugins as the user's own go command would.
var Fetching = []string{"GOPROXY", "GONOPROXY", "GOPRIVATE", "GOSUMDB", "GONOSUMDB", "GOINSECURE", "GOVCS", "GOAUTH"}

// MachineTools name the C tools of the machine the rebuild runs on, and
// the build cache program (GOCACHEPROG: many machines rebuilding one
// program can share a remote build cache through it). They are not build
// settings (the binary does not record them), so the user's choice
// applies.
var MachineTools = []string{"CC", "CXX", "AR", "PKG_CONFIG", "GOCACHEPROG"}

// owned are the variables a rebuild never inherits.
var owned = map[string]bool{
	// Decided by the binary's build settings.
	"GOFLAGS": true, "GOEXPERIMENT": true, "GOFIPS140": true,
	"GOOS": true, "GOARCH": true, "GOAMD64": true, "GOARM": true, "GOARM64": true,
	"GO386": true, "GOMIPS": true, "GOMIPS64": true, "GOPPC64": true,
	"GORISCV64": true, "GOWASM": true, "CGO_ENABLED": true,
	"CGO_CFLAGS": true, "CGO_CPPFLAGS": true, "CGO_CXXFLAGS": true,
	"CGO_FFLAGS": true, "CGO_LDFLAGS": true,
	// Decided by the runner.
	"GOROOT": true, "GOPATH": true, "GOCACHE": true, "GOMODCACHE": true,
	"GOTOOLCHAIN": true, "GOWORK": true, "GOENV": true, "GOBIN": true,
	"GO111MODULE": true, "GODEBUG": true, "GOCOVERDIR": true,
	"GOPACKAGESDRIVER": true, "GOTELEMETRY": true, "GOTELEMETRYDIR": true,
	"GO_SELFCOMPILE_SMOKE": true,
}

// fixed are the runner's own settings, before Runner.Env.
var fixed = []string{"GOENV=off", "GOTOOLCHAIN=local", "GOWORK=off", "GOPACKAGESDRIVER=off", "GOTELEMETRY=off"}

// Environ returns the environment an invocation runs with. With
// InheritEnv it is the base environment, then r.Env, r.EnvFunc's, then extra, the last
// value of a key winning. Otherwise it is the base environment without the
// variables the runner owns, the kept settings of the user's go env file,
// the runner's fixed settings, then r.Env, r.EnvFunc's and extra; there, GOFLAGS values
// add up instead of replacing each other, so that a caller's GOFLAGS
// extends the runner's flags.
func (r *Runner) Environ(extra ...string) []string {
	base := r.Base
	if base == nil {
		base = os.Environ()
	}
	var dynamic []string
	if r.EnvFunc != nil {
		dynamic = r.EnvFunc()
	}
	if r.InheritEnv {
		return dedupEnv(slices.Concat(base, r.Env, dynamic, extra), false)
	}
	var env []string
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !owned[k] {
			env = append(env, kv)
		}
	}
	env = append(env, fromEnvFile(base, env)...)
	return dedupEnv(slices.Concat(env, fixed, r.Env, dynamic, extra), true)
}

// fromEnvFile returns the kept settings of the user's go env file that env
// does not set: the go command, too, lets the environment win over the
// file. The file is $GOENV of base, or the go command's default place.
func fromEnvFile(base, env []string) []string {
	file, ok := Lookup(base, "GOENV")
	if !ok || file == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil
		}
		file = filepath.Join(dir, "go", "env")
	}
	if file == "off" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), "=")
		if !ok || !kept(k) {
			continue
		}
		if _, set := Lookup(env, k); !set {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func kept(key string) bool {
	return slices.Contains(Fetching, key) || slices.Contains(MachineTools, key)
}

// dedupEnv keeps the last value of every key, in first-seen order; with
// joinFlags, GOFLAGS values are joined with spaces instead.
func dedupEnv(env []string, joinFlags bool) []string {
	idx := map[string]int{}
	var out []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		i, ok := idx[k]
		switch {
		case !ok:
			idx[k] = len(out)
			out = append(out, kv)
		case joinFlags && k == "GOFLAGS":
			if _, prev, _ := strings.Cut(out[i], "="); prev != "" && v != "" {
				v = prev + " " + v
			} else if v == "" {
				v = prev
			}
			out[i] = k + "=" + v
		default:
			out[i] = kv
		}
	}
	return out
}

// Lookup returns the value of key in env, the last one winning.
func Lookup(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// Without returns a copy of env with no entry for any of keys.
func Without(env []string, keys ...string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(keys, k) {
			out = append(out, kv)
		}
	}
	return out
}

// Set returns a copy of env with key=val as the only entry for key.
func Set(env []string, key, val string) []string {
	return append(Without(env, key), key+"="+val)
}
