package modgen

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/goproxytest"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// testEnv is a host module in a temporary directory and a runner that
// reaches only the test proxy.
type testEnv struct {
	Go      *gocmd.Runner
	HostDir string
}

const testHostGoMod = `module example.com/host

go 1.26

require example.com/shared v1.0.0
`

const testHostMain = `package main

import (
	_ "example.com/host/registry"
	_ "example.com/shared"
)

func main() {}
`

// newTestEnv starts a module proxy serving the repository's testdata/mod,
// the test modules of every package (one txtar archive per module
// version, named PATH_VERSION.txtar with the slashes of PATH as
// underscores), and writes the host module example.com/host, which
// requires example.com/shared v1.0.0.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvBehind(t, nil)
}

// newTestEnvBehind is newTestEnv with the proxy's handler wrapped by wrap
// (nil: as it is).
func newTestEnvBehind(t *testing.T, wrap func(http.Handler) http.Handler) *testEnv {
	t.Helper()
	testkit.NeedGo(t)
	url := goproxytest.NewTestServer(t, filepath.Join("..", "..", "testdata", "mod"), "").URL
	if wrap != nil {
		target, err := neturl.Parse(url)
		if err != nil {
			t.Fatal(err)
		}
		front := httptest.NewServer(wrap(httputil.NewSingleHostReverseProxy(target)))
		t.Cleanup(front.Close)
		url = front.URL
	}
	host := t.TempDir()
	testkit.WriteFiles(t, host, map[string]string{
		"go.mod":               testHostGoMod,
		"main.go":              testHostMain,
		"registry/registry.go": "// Package registry is where plugins register.\npackage registry\n",
	})
	return &testEnv{
		HostDir: host,
		Go: &gocmd.Runner{Env: []string{
			"GOPROXY=" + url,
			"GONOSUMDB=example.com",
			"GOFLAGS=-mod=mod -modcacherw",
			"GOMODCACHE=" + t.TempDir(),
		}},
	}
}
