package helper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/verify"
)

// The test binary is its own helper: started with helperEnv set, it
// serves one request, as "go-selfcompile helper" does.
const helperEnv = "HELPER_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		if err := Serve(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestServeRefusesOtherVersions(t *testing.T) {
	var out bytes.Buffer
	if err := Serve(context.Background(), strings.NewReader(`{"version":99,"verify":{"paths":[]}}`), &out); err != nil {
		t.Fatal(err)
	}
	var resp Response
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Version != Version || !strings.Contains(resp.Error, "protocol version 99") {
		t.Errorf("response %+v, want version %d and an error naming version 99", resp, Version)
	}
}

func TestServeMalformedRequest(t *testing.T) {
	var out bytes.Buffer
	if err := Serve(context.Background(), strings.NewReader(`{`), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "reading the request") {
		t.Errorf("response %s, want an error about the request", out.String())
	}
}

// TestVerifyInHelperProcess checks a plugin in a real helper process and
// gets back the refusal as the typed error verify.Plugins returns.
func TestVerifyInHelperProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":       "module example.com/host\n\ngo 1.26\n",
		"cmd/main.go":  "package main\n\nfunc main() {}\n",
		"noinit/p.go":  "package noinit\n\nfunc F() {}\n",
		"hasinit/p.go": "package hasinit\n\nfunc init() { println() }\n",
	}
	for name, data := range files {
		writeFile(t, dir+"/"+name, data)
	}
	env := append(os.Environ(), helperEnv+"=1", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	h := Helper{Bin: exe, Env: env, Dir: dir}
	reports, err := h.Verify(context.Background(), verify.Config{Dir: dir}, []string{"example.com/host/hasinit", "example.com/host/noinit", "example.com/host/cmd"})
	if len(reports) != 1 || reports[0].Path != "example.com/host/hasinit" || len(reports[0].Inits) != 1 {
		t.Errorf("reports %+v, want one for hasinit with its init", reports)
	}
	var pe *verify.PluginError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want *verify.PluginError values", err)
	}
	reasons := map[string]verify.Reason{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if errors.As(e, &pe) {
			reasons[pe.Plugin] = pe.Reason
		}
	}
	if reasons["example.com/host/noinit"] != verify.NoInitCode || reasons["example.com/host/cmd"] != verify.IsCommand {
		t.Errorf("refusals %v", reasons)
	}
}

func TestHelperThatIsNotOne(t *testing.T) {
	h := Helper{Bin: "/bin/true"}
	if _, err := os.Stat(h.Bin); err != nil {
		t.Skip("no /bin/true: ", err)
	}
	_, err := h.Verify(context.Background(), verify.Config{}, []string{"example.com/p"})
	if err == nil || !strings.Contains(err.Error(), "running the helper /bin/true") {
		t.Errorf("error %v, want one naming the helper", err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(name[:strings.LastIndex(name, "/")], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
