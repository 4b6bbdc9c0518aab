package modgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// TestBareSpecKeepsTheHostsVersion: a package of a module the host already
// requires, named without a version, stays at the host's version, with no
// network; asking a version still moves it.
func TestBareSpecKeepsTheHostsVersion(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	// What the bundle carries: the host's build list in the module cache.
	if _, err := env.Go.Run(ctx, gocmd.Invocation{Verb: "mod", Args: []string{"download", "example.com/shared"}, WorkingDir: env.HostDir}); err != nil {
		t.Fatal(err)
	}
	offline := &gocmd.Runner{Env: append(slices.Clone(env.Go.Env), "GOPROXY=off")}
	r := &Resolver{Go: offline, ModDir: env.HostDir, HostModule: "example.com/host"}
	got, err := r.Resolve(ctx, mustParse(t, "example.com/shared"))
	if err != nil {
		t.Fatalf("bare spec with GOPROXY=off: %v", err)
	}
	if got.Module != "example.com/shared" || got.Version != "v1.0.0" {
		t.Errorf("bare spec resolved to %s@%s, want the host's example.com/shared@v1.0.0", got.Module, got.Version)
	}
	// Recorded as following the build list, so that an upgrade does not
	// move the host's dependency by itself.
	if q := got.Plugin().Query; q != bundle.QueryBuildList {
		t.Errorf("bare spec recorded with query %q, want %q", q, bundle.QueryBuildList)
	}

	r.Go = env.Go
	for spec, want := range map[string]string{"example.com/shared@latest": "v1.2.0", "example.com/shared@v1.0.1": "v1.0.1", "example.com/shared@~>1.0.0": "v1.0.1"} {
		got, err := r.Resolve(ctx, mustParse(t, spec))
		if err != nil {
			t.Errorf("Resolve(%s): %v", spec, err)
			continue
		}
		if got.Version != want {
			t.Errorf("Resolve(%s) = %s, want %s: an asked version moves the host's dependency", spec, got.Version, want)
		}
	}
}

// TestLongestModuleThroughDirect is the usual GOPROXY=URL,direct on a
// machine that reaches only its proxy: the proxy does not know the
// package's own path, direct then fails on the network (here a refused
// connection), and the shorter module path provides the package. go get
// resolves it so, and so must Resolve.
func TestLongestModuleThroughDirect(t *testing.T) {
	env := newTestEnv(t)
	url, _ := gocmd.Lookup(env.Go.Env, "GOPROXY")
	goRun := &gocmd.Runner{Env: append(slices.Clone(env.Go.Env),
		"GOPROXY="+url+",direct", "HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=")}
	r := &Resolver{Go: goRun, ModDir: env.HostDir, HostModule: "example.com/host"}
	ctx := context.Background()
	got, err := r.Resolve(ctx, mustParse(t, "example.com/drivers/v5/nodeps"))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got.Module != "example.com/drivers/v5" || got.Version != "v5.1.0" || len(got.Warnings) > 0 {
		t.Errorf("resolved to %s@%s %q, want example.com/drivers/v5@v5.1.0 without warnings", got.Module, got.Version, got.Warnings)
	}
	// The go command agrees.
	if _, err := goRun.Run(ctx, gocmd.Invocation{Verb: "get", Args: []string{"example.com/drivers/v5/nodeps"}, WorkingDir: env.HostDir}); err != nil {
		t.Fatalf("go get, the reference: %v", err)
	}
	list, err := goRun.Run(ctx, gocmd.Invocation{Verb: "list", Args: []string{"-m", "example.com/drivers/v5"}, WorkingDir: env.HostDir})
	if err != nil || strings.TrimSpace(string(list)) != "example.com/drivers/v5 v5.1.0" {
		t.Errorf("go get chose %q (%v), want example.com/drivers/v5 v5.1.0", list, err)
	}
}

// TestShorterModuleWhenALongerPathFails: the proxy fails on the package's
// own path with a server error. go get stops there; Resolve goes on to the
// module that provides the package and says what failed.
func TestShorterModuleWhenALongerPathFails(t *testing.T) {
	env := newTestEnv(t)
	upstream, _ := gocmd.Lookup(env.Go.Env, "GOPROXY")
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/example.com/drivers/v5/nodeps/") || strings.HasPrefix(req.URL.Path, "/example.com/nosuch/") {
			http.Error(w, "upstream unreachable", http.StatusBadGateway)
			return
		}
		http.Redirect(w, req, upstream+req.URL.Path, http.StatusFound)
	}))
	t.Cleanup(failing.Close)
	goRun := &gocmd.Runner{Env: append(slices.Clone(env.Go.Env), "GOPROXY="+failing.URL)}
	r := &Resolver{Go: goRun, ModDir: env.HostDir, HostModule: "example.com/host"}
	ctx := context.Background()
	got, err := r.Resolve(ctx, mustParse(t, "example.com/drivers/v5/nodeps"))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got.Module != "example.com/drivers/v5" || got.Version != "v5.1.0" {
		t.Errorf("resolved to %s@%s, want example.com/drivers/v5@v5.1.0", got.Module, got.Version)
	}
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "module example.com/drivers/v5/nodeps provides it failed") || !strings.Contains(got.Warnings[0], "502") {
		t.Errorf("warnings %q, want one naming the failed longer path and its error", got.Warnings)
	}

	// When no path provides the package, the failure to ask is reported.
	_, err = r.Resolve(ctx, mustParse(t, "example.com/nosuch/plugin"))
	var se *SpecError
	if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "502") {
		t.Errorf("error %v, want the proxy's failure, not a spec error", err)
	}
}

// TestExactVersionWhenTheVersionListIsRefused: a proxy that serves a
// version but refuses the module's version list (so its retractions
// cannot be loaded) does not stop an exact version, as it does not stop
// go get: the plugin resolves with a warning. Refusing retracted
// versions then refuses it, as it cannot be checked.
func TestExactVersionWhenTheVersionListIsRefused(t *testing.T) {
	env := newTestEnv(t)
	upstream, _ := gocmd.Lookup(env.Go.Env, "GOPROXY")
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/@v/list") {
			http.Error(w, "This module version is not available.", http.StatusForbidden)
			return
		}
		http.Redirect(w, req, upstream+req.URL.Path, http.StatusFound)
	}))
	t.Cleanup(proxy.Close)
	goRun := &gocmd.Runner{Env: append(slices.Clone(env.Go.Env), "GOPROXY="+proxy.URL)}
	r := &Resolver{Go: goRun, ModDir: env.HostDir, HostModule: "example.com/host"}
	got, err := r.Resolve(context.Background(), mustParse(t, "example.com/aplugin@v1.2.0"))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got.Version != "v1.2.0" || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "could not check whether example.com/aplugin@v1.2.0 is retracted") {
		t.Errorf("resolved %s with warnings %q, want v1.2.0 and one warning about retractions", got.Version, got.Warnings)
	}
	r.RefuseRetracted = true
	if _, err := r.Resolve(context.Background(), mustParse(t, "example.com/aplugin@v1.2.0")); err == nil || !strings.Contains(err.Error(), "cannot tell whether example.com/aplugin@v1.2.0 is retracted") {
		t.Errorf("with RefuseRetracted: %v, want a refusal saying retractions cannot be checked", err)
	}
}

// TestExactVersionOfTheBuildList: an exact version that the host already
// builds with resolves from the bundle: the module paths longer than the
// build list's module are not asked (with GOPROXY=off it resolves, and a
// proxy sees no question about them), and only whether the version is
// retracted is asked, beside the plan: when that cannot be answered, a
// warning says so. A retracted build-list version is resolved with a
// warning naming the retraction, and RefuseRetracted refuses it (it asks
// the proxy first). Another version still goes to the proxy.
func TestExactVersionOfTheBuildList(t *testing.T) {
	env := newTestEnv(t)
	testkit.WriteFiles(t, env.HostDir, map[string]string{"go.mod": "module example.com/host\n\ngo 1.26\n\nrequire (\n\texample.com/shared v1.0.0\n\texample.com/drivers/v5 v5.1.0\n\texample.com/retracted v1.0.0\n)\n"})
	ctx := context.Background()
	if _, err := env.Go.Run(ctx, gocmd.Invocation{Verb: "mod", Args: []string{"download", "example.com/shared", "example.com/drivers/v5", "example.com/retracted"}, WorkingDir: env.HostDir}); err != nil {
		t.Fatal(err)
	}
	const spec = "example.com/drivers/v5/nodeps@v5.1.0"
	offline := &gocmd.Runner{Env: append(slices.Clone(env.Go.Env), "GOPROXY=off")}
	r := &Resolver{Go: offline, ModDir: env.HostDir, HostModule: "example.com/host"}
	got, err := r.Resolve(ctx, mustParse(t, spec))
	if err != nil {
		t.Fatalf("%s with GOPROXY=off: %v", spec, err)
	}
	if got.Module != "example.com/drivers/v5" || got.Version != "v5.1.0" {
		t.Errorf("resolved to %s@%s, want example.com/drivers/v5@v5.1.0", got.Module, got.Version)
	}
	if _, err := r.Resolve(ctx, mustParse(t, "example.com/shared@v1.0.1")); err == nil {
		t.Errorf("another version with GOPROXY=off resolved: it must ask the proxy")
	}

	// A proxy that answers only the retraction question, with an error.
	upstream, _ := gocmd.Lookup(env.Go.Env, "GOPROXY")
	var mu sync.Mutex
	var asked []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		asked = append(asked, req.URL.Path)
		mu.Unlock()
		if strings.HasPrefix(req.URL.Path, "/example.com/drivers/") {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, req, upstream+req.URL.Path, http.StatusFound)
	}))
	t.Cleanup(proxy.Close)
	r.Go = &gocmd.Runner{Env: append(slices.Clone(env.Go.Env), "GOPROXY="+proxy.URL)}
	got, err = r.Resolve(ctx, mustParse(t, spec))
	if err != nil {
		t.Fatalf("%s with the proxy failing: %v", spec, err)
	}
	if warnings := got.AllWarnings(); got.Version != "v5.1.0" || len(warnings) != 1 || !strings.Contains(warnings[0], "could not check whether example.com/drivers/v5@v5.1.0 is retracted") {
		t.Errorf("resolved to %s@%s %q, want v5.1.0 and one warning that retractions were not checked", got.Module, got.Version, warnings)
	}
	mu.Lock()
	for _, p := range asked {
		if strings.HasPrefix(p, "/example.com/drivers/v5/nodeps/") {
			t.Errorf("the proxy was asked %s: the build list's module provides the package", p)
		}
	}
	mu.Unlock()

	got, err = r.Resolve(ctx, mustParse(t, "example.com/retracted@v1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if warnings := got.AllWarnings(); got.Version != "v1.0.0" || len(warnings) != 1 || !strings.Contains(warnings[0], "example.com/retracted@v1.0.0 is retracted by its authors: registers twice") {
		t.Errorf("resolved %s with warnings %q, want v1.0.0 with the retraction named", got.Version, warnings)
	}
	r.RefuseRetracted = true
	if _, err := r.Resolve(ctx, mustParse(t, "example.com/retracted@v1.0.0")); !errors.Is(err, ErrRetracted) {
		t.Errorf("with RefuseRetracted: %v, want ErrRetracted", err)
	}
}

// TestCandidatesAskedTogether: the module paths that may provide a
// package are asked at once, as the go command asks them. The proxy holds
// its answer for the package's own path until the module's path has been
// asked too, which only a resolver that asks them together gets past.
func TestCandidatesAskedTogether(t *testing.T) {
	env := newTestEnv(t)
	upstream, _ := gocmd.Lookup(env.Go.Env, "GOPROXY")
	shorterAsked := make(chan struct{})
	var once sync.Once
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case strings.HasPrefix(req.URL.Path, "/example.com/drivers/v5/nodeps/"):
			select {
			case <-shorterAsked:
				http.NotFound(w, req)
			case <-time.After(10 * time.Second):
				http.Error(w, "the module path was not asked while this one waited", http.StatusBadGateway)
			}
			return
		case strings.HasPrefix(req.URL.Path, "/example.com/drivers/v5/"):
			once.Do(func() { close(shorterAsked) })
		}
		http.Redirect(w, req, upstream+req.URL.Path, http.StatusFound)
	}))
	t.Cleanup(proxy.Close)
	goRun := &gocmd.Runner{Env: append(slices.Clone(env.Go.Env), "GOPROXY="+proxy.URL)}
	r := &Resolver{Go: goRun, ModDir: env.HostDir, HostModule: "example.com/host"}
	got, err := r.Resolve(context.Background(), mustParse(t, "example.com/drivers/v5/nodeps@v5.1.0"))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got.Module != "example.com/drivers/v5" || got.Version != "v5.1.0" || len(got.Warnings) > 0 {
		t.Errorf("resolved to %s@%s %q, want example.com/drivers/v5@v5.1.0 without warnings (the longer path answered only once the shorter was asked)", got.Module, got.Version, got.Warnings)
	}
}

// TestInstalledPluginModule: the module of an installed plugin is part of
// the binary's build list though the host's go.mod does not require it:
// another package of it, named bare or at the installed version, resolves
// to that version with no network.
func TestInstalledPluginModule(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	// The bundle carries the plugin's module: fetch it into the cache
	// outside the host module.
	if _, err := env.Go.Run(ctx, gocmd.Invocation{Verb: "mod", Args: []string{"download", "example.com/drivers/v5@v5.1.0"}, WorkingDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	offline := &gocmd.Runner{Env: append(slices.Clone(env.Go.Env), "GOPROXY=off")}
	r := &Resolver{Go: offline, ModDir: env.HostDir, HostModule: "example.com/host",
		Installed: []Plugin{{Path: "example.com/drivers/v5/sqldriver", Module: "example.com/drivers/v5", Version: "v5.1.0", Query: "latest"}}}
	for _, spec := range []string{"example.com/drivers/v5/nodeps", "example.com/drivers/v5/nodeps@v5.1.0"} {
		got, err := r.Resolve(ctx, mustParse(t, spec))
		if err != nil {
			t.Errorf("Resolve(%s) with GOPROXY=off: %v", spec, err)
			continue
		}
		if got.Module != "example.com/drivers/v5" || got.Version != "v5.1.0" {
			t.Errorf("Resolve(%s) = %s@%s, want the installed plugin's example.com/drivers/v5@v5.1.0", spec, got.Module, got.Version)
		}
	}
}
