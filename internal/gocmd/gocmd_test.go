package gocmd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

func TestEnvironDropsOwnedVariables(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=vendor")
	t.Setenv("GOROOT", "/somewhere")
	t.Setenv("GOPROXY", "https://proxy.example")
	t.Setenv("GONOSUMDB", "corp.example")
	r := &Runner{Env: []string{"GOCACHE=/cache"}}
	env := r.Environ("GOFLAGS=-mod=mod")
	for key, want := range map[string]string{
		"GOFLAGS": "-mod=mod", "GOPROXY": "https://proxy.example", "GONOSUMDB": "corp.example",
		"GOCACHE": "/cache", "GOTOOLCHAIN": "local", "GOWORK": "off", "GOPACKAGESDRIVER": "off",
	} {
		if got, _ := Lookup(env, key); got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	if _, ok := Lookup(env, "GOROOT"); ok {
		t.Error("GOROOT inherited from the process")
	}
	seen := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if seen[k] {
			t.Errorf("%s appears twice", k)
		}
		seen[k] = true
	}
}

func TestErrorCarriesStderr(t *testing.T) {
	testkit.NeedGo(t)
	r := &Runner{}
	_, err := r.Run(context.Background(), Invocation{Verb: "list", Args: []string{"example.invalid/no/such/package"}, WorkingDir: t.TempDir(), Env: []string{"GOPROXY=off", "GO111MODULE=off"}})
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v, want *Error", err)
	}
	if ge.ExitCode == 0 || !strings.Contains(ge.Stderr, "example.invalid/no/such/package") || !strings.Contains(err.Error(), "go list") {
		t.Errorf("error lacks the command or its stderr: %+v", ge)
	}
}
