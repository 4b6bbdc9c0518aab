package modgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

func (e *testEnv) resolver() *Resolver {
	return &Resolver{Go: e.Go, ModDir: e.HostDir, HostModule: "example.com/host"}
}

func mustParse(t *testing.T, raw string) Spec {
	t.Helper()
	s, err := ParseSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestResolve resolves specs of every kind against the test proxy.
func TestResolve(t *testing.T) {
	env := newTestEnv(t)
	r := env.resolver()
	tests := []struct {
		spec, path, module, version string
		warning                     string
	}{
		{"example.com/aplugin", "", "", "v1.3.0", ""},
		{"example.com/aplugin@latest", "", "", "v1.3.0", ""},
		{"example.com/aplugin@v1.2.0", "", "", "v1.2.0", ""},
		{"example.com/aplugin@v1.4.0-rc.1", "", "", "v1.4.0-rc.1", ""},
		{"example.com/aplugin@>=1.2,<2", "", "", "v1.3.0", ""},
		{"example.com/aplugin@~>1.2.0", "", "", "v1.2.0", ""},
		{"example.com/aplugin@!=1.3.0", "", "", "v1.2.0", ""},
		{"example.com/aplugin@<1.2", "", "", "v1.0.0", ""}, // not the retracted v1.1.0
		{"example.com/aplugin@>=1.4.0-rc.1", "", "", "v1.4.0-rc.1", ""},
		{"example.com/aplugin@1.2.0", "", "", "v1.2.0", ""},
		{"example.com/aplugin/sub@>=1.2", "example.com/aplugin/sub", "example.com/aplugin", "v1.3.0", ""},
		{"example.com/aplugin/sub@v1.2.0", "example.com/aplugin/sub", "example.com/aplugin", "v1.2.0", ""},
		{"example.com/p/v2", "example.com/p/v2", "example.com/p/v2", "v2.0.0", ""},
		{"example.com/p/v2@>=2", "example.com/p/v2", "example.com/p/v2", "v2.0.0", ""},
		{"example.com/aplugin@v1.1.0", "", "", "v1.1.0", "example.com/aplugin@v1.1.0 is retracted by its authors: Registers twice and panics at start-up."},
		{"example.com/host/registry", "example.com/host/registry", "example.com/host", "", ""},
	}
	for _, tt := range tests {
		if tt.path == "" {
			tt.path, tt.module = "example.com/aplugin", "example.com/aplugin"
		}
		got, err := r.Resolve(context.Background(), mustParse(t, tt.spec))
		if err != nil {
			t.Errorf("Resolve(%s): %v", tt.spec, err)
			continue
		}
		if got.Path != tt.path || got.Module != tt.module || got.Version != tt.version || got.Dir != "" {
			t.Errorf("Resolve(%s) = %s in %s@%s (dir %q), want %s in %s@%s", tt.spec, got.Path, got.Module, got.Version, got.Dir, tt.path, tt.module, tt.version)
		}
		if w := strings.Join(got.Warnings, "\n"); w != tt.warning {
			t.Errorf("Resolve(%s) warnings %q, want %q", tt.spec, w, tt.warning)
		}
	}
	data, _ := os.ReadFile(filepath.Join(env.HostDir, "go.mod"))
	if string(data) != testHostGoMod {
		t.Errorf("resolving changed the host's go.mod:\n%s", data)
	}
}

// TestResolveErrors checks that each bad spec class gives a one-line
// *SpecError of its class that says what to do.
func TestResolveErrors(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct {
		spec  string
		class error
		msg   string
	}{
		{"example.com/nope", ErrNoModule, "no module provides package example.com/nope: check the path"},
		{"example.com/nope/sub@v1.0.0", ErrNoModule, "no module provides package example.com/nope/sub: check the path"},
		{"example.com/aplugin@v1.9.9", ErrNoVersion, "no version v1.9.9 of example.com/aplugin (newest v1.3.0; nearest v1.4.0-rc.1)"},
		{"example.com/aplugin@v1.2.1", ErrNoVersion, "no version v1.2.1 of example.com/aplugin (newest v1.3.0; nearest v1.2.0)"},
		{"example.com/aplugin/sub@v1.9.9", ErrNoVersion, "no version v1.9.9 of example.com/aplugin (newest v1.3.0; nearest v1.4.0-rc.1)"},
		{"example.com/aplugin@>=1.5", ErrNoMatch, "no version of example.com/aplugin satisfies >=1.5 (available: v1.0.0, v1.2.0, v1.3.0, v1.4.0-rc.1)"},
		{"example.com/p@>=2,<3", ErrNoMatch, "no version of example.com/p satisfies >=2,<3 (available: v1.0.0); major version 2 lives at module path example.com/p/v2: write example.com/p/v2@>=2,<3"},
		{"example.com/aplugin/sub@~>2.1", ErrNoMatch, "write example.com/aplugin/v2/sub@~>2.1"},
		{"example.com/aplugin/sub@v1.0.0", ErrNoPackage, "example.com/aplugin v1.0.0 has no package sub: check the path, or ask a version that has it"},
		{"example.com/aplugin/internal", ErrNoPackage, "example.com/aplugin v1.3.0 has no package internal"},
		{"example.com/aplugin/nosuch@latest", ErrNoPackage, "example.com/aplugin v1.3.0 has no package nosuch"},
		{"fmt", ErrNoModule, "fmt is a standard library package"},
		{"example.com/host/registry@v1.0.0", ErrHostPkg, `always built at its bundled version: drop "@v1.0.0"`},
		{"example.com/host/nosuch", ErrNoPackage, "not in the bundled source of the host module"},
	}
	for _, tt := range tests {
		_, err := env.resolver().Resolve(context.Background(), mustParse(t, tt.spec))
		checkSpecError(t, tt.spec, err, tt.class, tt.msg)
	}
}

// TestResolveErrorsBehindAPartialProxy resolves against a proxy that
// serves some modules and answers 403 Forbidden for every other path (as
// the module proxy of this machine does for modules it does not serve,
// and some corporate proxies do): the refusals name the module that
// exists and what it lacks, not the 403 of a prefix that is no module.
func TestResolveErrorsBehindAPartialProxy(t *testing.T) {
	env := newTestEnvBehind(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if rec.Code == http.StatusNotFound || rec.Code == http.StatusGone {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	})
	tests := []struct {
		spec  string
		class error
		msg   string
	}{
		{"example.com/aplugin/nosuch", ErrNoPackage, "example.com/aplugin v1.3.0 has no package nosuch: check the path"},
		{"example.com/aplugin/sub@v1.9.9", ErrNoVersion, "no version v1.9.9 of example.com/aplugin (newest v1.3.0; nearest v1.4.0-rc.1)"},
		{"example.com/nope", ErrNoModule, "no module provides package example.com/nope: check the path"},
	}
	for _, tt := range tests {
		_, err := env.resolver().Resolve(context.Background(), mustParse(t, tt.spec))
		checkSpecError(t, tt.spec, err, tt.class, tt.msg)
		if err != nil && strings.Contains(err.Error(), "403") {
			t.Errorf("%s: %q quotes the proxy", tt.spec, err)
		}
	}
}

// With the module proxy off, a module the module cache does not hold is
// refused naming the setting, not the path.
func TestResolveProxyOff(t *testing.T) {
	env := newTestEnv(t)
	env.Go.Env = append(env.Go.Env, "GOPROXY=off")
	for _, spec := range []string{"example.com/aplugin", "example.com/aplugin@v1.2.0", "example.com/nope/sub@>=1"} {
		_, err := env.resolver().Resolve(context.Background(), mustParse(t, spec))
		path, _, _ := strings.Cut(spec, "@")
		checkSpecError(t, spec, err, ErrNeedsProxy, "GOPROXY=off: "+path+" is not in the bundle and needs the module proxy")
	}
}

// A spec of the deepest path allowed runs at most maxQueries go commands
// at once: the proxy, which answers each request after a pause, never
// has more requests in flight (each go command asks one at a time).
func TestResolveBoundsConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	env := newTestEnvBehind(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(100 * time.Millisecond)
			next.ServeHTTP(w, r)
		})
	})
	spec := "example.com" + strings.Repeat("/a", MaxPathElements-1)
	_, err := env.resolver().Resolve(context.Background(), mustParse(t, spec))
	checkSpecError(t, spec, err, ErrNoModule, "no module provides package")
	if p := peak.Load(); p > maxQueries || p < 2 {
		t.Errorf("%d requests in flight at most, want between 2 and %d", p, maxQueries)
	}
}

func checkSpecError(t *testing.T, spec string, err error, class error, msg string) {
	t.Helper()
	var se *SpecError
	if !errors.As(err, &se) {
		t.Errorf("%s: got %v, want a *SpecError", spec, err)
		return
	}
	if !errors.Is(err, class) || !strings.Contains(se.Msg, msg) || se.Spec != spec || strings.Contains(err.Error(), "\n") {
		t.Errorf("%s: got %q (class %v), want one line of class %v with %q", spec, err, se.Err, class, msg)
	}
}

func TestResolveRefuseRetracted(t *testing.T) {
	env := newTestEnv(t)
	r := env.resolver()
	r.RefuseRetracted = true
	_, err := r.Resolve(context.Background(), mustParse(t, "example.com/aplugin@v1.1.0"))
	checkSpecError(t, "example.com/aplugin@v1.1.0", err, ErrRetracted, "example.com/aplugin@v1.1.0 is retracted by its authors (Registers twice and panics at start-up.): ask another version, e.g. example.com/aplugin@latest")
	if _, err := r.Resolve(context.Background(), mustParse(t, "example.com/aplugin@v1.2.0")); err != nil {
		t.Errorf("a version that is not retracted: %v", err)
	}
}

func TestResolveCancelled(t *testing.T) {
	env := newTestEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := env.resolver().Resolve(ctx, mustParse(t, "example.com/aplugin"))
	var se *SpecError
	if err == nil || errors.As(err, &se) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled and no SpecError", err)
	}
}

// localTree writes local plugin directories under a temporary base.
func localTree(t *testing.T) string {
	base := t.TempDir()
	testkit.WriteFiles(t, base, map[string]string{
		"local/go.mod":          "module example.com/local\n\ngo 1.21\n\nrequire example.com/shared v1.0.1\n",
		"local/local.go":        "package local\n\nimport _ \"example.com/shared\"\n",
		"local/sub/sub.go":      "package sub\n",
		"local/sub/x_test.go":   "package sub\n",
		"local/tests/x_test.go": "package tests\n",
		"local/empty/README":    "no Go here\n",
		"lp/go.mod":             "module example.com/lp/v2\n\ngo 1.21\n\nreplace example.com/shared => ../shared\n",
		"lp/lp.go":              "package lp\n",
		"nomod/x.go":            "package nomod\n",
		"hostcopy/go.mod":       "module example.com/host\n",
		"hostcopy/x/x.go":       "package x\n",
		"badmod/go.mod":         "go 1.21\n",
		"badmod/x.go":           "package x\n",
		"file.go":               "package file\n",
	})
	return base
}

func TestResolveLocal(t *testing.T) {
	env := newTestEnv(t)
	base := localTree(t)
	r := env.resolver()
	r.BaseDir = base
	zero := "v0.0.0-00010101000000-000000000000"
	tests := []struct {
		spec, path, module, version, dir string
		warned                           bool
	}{
		{"./local", "example.com/local", "example.com/local", zero, "local", false},
		{"./local/sub", "example.com/local/sub", "example.com/local", zero, "local", false},
		{"./local/sub/../.", "example.com/local", "example.com/local", zero, "local", false},
		{filepath.Join(base, "local", "sub"), "example.com/local/sub", "example.com/local", zero, "local", false},
		{"./lp", "example.com/lp/v2", "example.com/lp/v2", "v2.0.0-00010101000000-000000000000", "lp", true},
	}
	for _, tt := range tests {
		got, err := r.Resolve(context.Background(), mustParse(t, tt.spec))
		if err != nil {
			t.Errorf("Resolve(%s): %v", tt.spec, err)
			continue
		}
		dir := filepath.Join(base, tt.dir)
		if got.Path != tt.path || got.Module != tt.module || got.Version != tt.version || got.Dir != dir || (len(got.Warnings) > 0) != tt.warned {
			t.Errorf("Resolve(%s) = %+v, want %s in %s@%s from %s", tt.spec, got, tt.path, tt.module, tt.version, dir)
		}
	}

	r.BaseDir = filepath.Join(base, "local", "sub")
	if got, err := r.Resolve(context.Background(), mustParse(t, "../../lp")); err != nil || got.Dir != filepath.Join(base, "lp") {
		t.Errorf("relative to another base: %+v, %v", got, err)
	}
}

func TestResolveLocalErrors(t *testing.T) {
	env := newTestEnv(t)
	base := localTree(t)
	r := env.resolver()
	r.BaseDir = base
	tests := []struct {
		spec, msg string
		class     error
	}{
		{"./missing", "directory " + filepath.Join(base, "missing") + " does not exist: check the path (relative paths start from " + base + ")", ErrLocalDir},
		{"./local/empty", "holds no Go package", ErrLocalDir},
		{"./local/tests", "holds no Go package", ErrLocalDir},
		{"./file.go", "is not a directory", ErrLocalDir},
		{"./nomod", "is in no Go module (no go.mod at or above it): run go mod init", ErrLocalDir},
		{"./badmod", "has no module line", ErrLocalDir},
		{"./hostcopy/x", "belongs to the host module example.com/host", ErrHostPkg},
	}
	for _, tt := range tests {
		_, err := r.Resolve(context.Background(), mustParse(t, tt.spec))
		checkSpecError(t, tt.spec, err, tt.class, tt.msg)
	}
}
