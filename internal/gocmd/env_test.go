package gocmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// userEnvFile writes a go env file (as go env -w does) holding one kept and
// one refused setting of every kind.
func userEnvFile(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "env")
	data := strings.Join([]string{
		"GOPROXY=https://file-proxy.example",
		"GOPRIVATE=corp.example",
		"GONOSUMDB=corp.example",
		"GOAUTH=netrc",
		"CC=file-cc",
		"GOFLAGS=-tags=fromfile",
		"GOEXPERIMENT=nosuchexperiment",
		"CGO_CFLAGS=-DFROMFILE",
		"GOFIPS140=latest",
		"GOTOOLCHAIN=go1.99.0",
		"",
	}, "\n")
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestEnvironIsHermetic(t *testing.T) {
	base := []string{
		"GOENV=" + userEnvFile(t),
		"HOME=/home/u", "NETRC=/home/u/.netrc", "HTTPS_PROXY=http://proxy:3128",
		"GOPROXY=https://env-proxy.example", // the environment wins over the file
		"GOFIPS140=v1.0.0", "CGO_LDFLAGS=-lfromenv", "GOEXPERIMENT=boringcrypto",
		"GODEBUG=http2client=0", "CGO_CFLAGS_ALLOW=-fplugin=.*",
	}
	r := &Runner{Base: base, Env: []string{"GOFLAGS=-mod=mod -modcacherw"}}
	env := r.Environ()
	want := map[string]string{
		"GOPROXY": "https://env-proxy.example", "GOPRIVATE": "corp.example",
		"GONOSUMDB": "corp.example", "GOAUTH": "netrc", "CC": "file-cc",
		"HOME": "/home/u", "NETRC": "/home/u/.netrc", "HTTPS_PROXY": "http://proxy:3128",
		"CGO_CFLAGS_ALLOW": "-fplugin=.*",
		"GOENV":            "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod -modcacherw",
	}
	for key, val := range want {
		if got, ok := Lookup(env, key); !ok || got != val {
			t.Errorf("%s=%q (set: %v), want %q", key, got, ok, val)
		}
	}
	for _, key := range []string{"GOFIPS140", "CGO_LDFLAGS", "CGO_CFLAGS", "GOEXPERIMENT", "GODEBUG"} {
		if got, ok := Lookup(env, key); ok {
			t.Errorf("%s=%q passed through, want it dropped", key, got)
		}
	}
}

func TestEnvironWithoutEnvFile(t *testing.T) {
	r := &Runner{Base: []string{"GOENV=off", "GOPROXY=off"}}
	env := r.Environ()
	if got, _ := Lookup(env, "GOPROXY"); got != "off" {
		t.Errorf("GOPROXY=%q, want off", got)
	}
	r = &Runner{Base: []string{"GOENV=" + filepath.Join(t.TempDir(), "missing")}}
	if got, ok := Lookup(r.Environ(), "GOPROXY"); ok {
		t.Errorf("GOPROXY=%q from a missing env file", got)
	}
}

func TestGOFLAGSAddUp(t *testing.T) {
	r := &Runner{Base: []string{"GOFLAGS=-tags=user"}, Env: []string{"GOFLAGS=-mod=mod -modcacherw", "GOFLAGS=-p=1"}}
	env := r.Environ("GOFLAGS=-x")
	if got, _ := Lookup(env, "GOFLAGS"); got != "-mod=mod -modcacherw -p=1 -x" {
		t.Errorf("GOFLAGS=%q, want the runner's, the caller's and the invocation's flags in order, and not the user's", got)
	}
	// Where the caller inherits the environment on purpose, the last wins.
	r = &Runner{Base: []string{"GOFLAGS=-tags=user"}, InheritEnv: true}
	if got, _ := Lookup(r.Environ("GOFLAGS=-mod=mod"), "GOFLAGS"); got != "-mod=mod" {
		t.Errorf("inherited GOFLAGS=%q, want -mod=mod", got)
	}
}

// TestGoCommandSeesTheKeptSettingsOnly asks a real go command what it sees.
func TestGoCommandSeesTheKeptSettingsOnly(t *testing.T) {
	testkit.NeedGo(t)
	base := append(Without(os.Environ(), "GOPROXY", "GOPRIVATE", "GONOSUMDB", "GOAUTH", "CC", "GOFLAGS", "GOEXPERIMENT", "CGO_CFLAGS", "GOFIPS140"),
		"GOENV="+userEnvFile(t), "GOFIPS140=v1.0.0")
	r := &Runner{Base: base, Env: []string{"GOFLAGS=-mod=mod"}}
	out, err := r.Run(context.Background(), Invocation{Verb: "env", Args: []string{"-json", "GOPROXY", "GOPRIVATE", "GONOSUMDB", "GOAUTH", "CC", "GOFLAGS", "GOEXPERIMENT", "CGO_CFLAGS", "GOFIPS140", "GOTOOLCHAIN"}, WorkingDir: t.TempDir(), Env: []string{"GOFLAGS=-modcacherw"}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"GOPROXY": "https://file-proxy.example", "GOPRIVATE": "corp.example",
		"GONOSUMDB": "corp.example", "GOAUTH": "netrc", "CC": "file-cc",
		"GOFLAGS": "-mod=mod -modcacherw", "GOEXPERIMENT": "", "GOTOOLCHAIN": "local",
		"GOFIPS140": "off",
	}
	for key, val := range want {
		if got[key] != val {
			t.Errorf("go env %s = %q, want %q", key, got[key], val)
		}
	}
	if strings.Contains(got["CGO_CFLAGS"], "FROMFILE") {
		t.Errorf("go env CGO_CFLAGS = %q: the user's env file leaked in", got["CGO_CFLAGS"])
	}
}
