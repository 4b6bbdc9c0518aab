package rebuildkey

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

func sample() *Inputs {
	return &Inputs{
		HostModule: "example.com/host", HostVersion: "v1.2.3", Previous: "aa",
		Parts:     map[string]string{"source": "s1", "modules": "m1", "toolchain": "t1"},
		Plugins:   []Plugin{{Path: "example.com/a", Module: "example.com/a", Version: "v1.0.0"}, {Path: "example.com/b/p", Module: "example.com/b", Version: "v0.1.0"}},
		GoMod:     []byte("module example.com/host\n"),
		GoSum:     []string{"example.com/a v1.0.0 h1:x=", "example.com/b v0.1.0 h1:y="},
		GoVersion: "go1.26.8", ToolchainSum: "tc",
		Flags: []string{"-buildvcs=false", "-trimpath"}, Env: []string{"GOOS=linux", "CGO_ENABLED=0"},
		GOOS: "linux", GOARCH: "amd64", RegisterFuncs: []string{"r.A", "r.B"}, Constructors: []string{"New"},
	}
}

func TestKeySameInputsSameKey(t *testing.T) {
	a, b := sample().Key(), sample().Key()
	if a != b {
		t.Fatalf("same inputs, two keys: %s %s", a, b)
	}
	if !regexp.MustCompile(`^sc1-[0-9a-f]{64}$`).MatchString(a) {
		t.Errorf("key %q is not sc1-<sha256 hex>, a valid OCI tag", a)
	}
}

func TestKeyEachInputChangesIt(t *testing.T) {
	base := sample().Key()
	for name, change := range map[string]func(*Inputs){
		"host module":   func(in *Inputs) { in.HostModule = "example.com/other" },
		"host version":  func(in *Inputs) { in.HostVersion = "v1.2.4" },
		"previous":      func(in *Inputs) { in.Previous = "bb" },
		"part sum":      func(in *Inputs) { in.Parts["source"] = "s2" },
		"part added":    func(in *Inputs) { in.Parts["stdcache"] = "c" },
		"slim":          func(in *Inputs) { in.SlimToolchain = "h1:z" },
		"plugin ver":    func(in *Inputs) { in.Plugins[0].Version = "v1.0.1" },
		"plugin ctor":   func(in *Inputs) { in.Plugins[0].Constructor = "New" },
		"plugin added":  func(in *Inputs) { in.Plugins = append(in.Plugins, Plugin{Path: "example.com/c"}) },
		"go.mod":        func(in *Inputs) { in.GoMod = []byte("module example.com/host\ngo 1.26\n") },
		"go.sum":        func(in *Inputs) { in.GoSum[1] = "example.com/b v0.1.0 h1:z=" },
		"go version":    func(in *Inputs) { in.GoVersion = "go1.26.9" },
		"toolchain sum": func(in *Inputs) { in.ToolchainSum = "tc2" },
		"flags":         func(in *Inputs) { in.Flags = append(in.Flags, "-ldflags=-s") },
		"flags order":   func(in *Inputs) { slices.Reverse(in.Flags) },
		"env":           func(in *Inputs) { in.Env = append(in.Env, "GOAMD64=v3") },
		"env override":  func(in *Inputs) { in.Env = append(in.Env, "CGO_ENABLED=1") },
		"goos":          func(in *Inputs) { in.GOOS = "darwin" },
		"goarch":        func(in *Inputs) { in.GOARCH = "arm64" },
		"register":      func(in *Inputs) { in.RegisterFuncs = in.RegisterFuncs[:1] },
		"constructors":  func(in *Inputs) { in.Constructors = nil },
		"forged line":   func(in *Inputs) { in.HostVersion = "v1.2.3\" \"x\nprevious \"aa" },
	} {
		in := sample()
		change(in)
		if in.Key() == base {
			t.Errorf("changing the %s leaves the key as it was", name)
		}
	}
}

func TestKeyOrderIndependent(t *testing.T) {
	base := sample().Key()
	in := sample()
	slices.Reverse(in.Plugins)
	slices.Reverse(in.GoSum)
	slices.Reverse(in.Env)
	slices.Reverse(in.RegisterFuncs)
	in.GoSum = append(in.GoSum, in.GoSum[0]) // a repeated line
	if got := in.Key(); got != base {
		t.Errorf("reordering sets changed the key:\n%s\n%s", sample().Text(), in.Text())
	}
}

func TestToolchainDigest(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("VERSION", "go1.26.8\ntime 2026-01-01\n")
	write("bin/go", "go")
	write("pkg/tool/linux_amd64/compile", "compile")
	write("src/fmt/print.go", "package fmt")
	v, d1, err := ToolchainDigest(root)
	if err != nil || v != "go1.26.8" {
		t.Fatalf("ToolchainDigest = %q, %v; want go1.26.8", v, err)
	}
	write("src/fmt/print.go", "package fmt // changed")
	if _, d, _ := ToolchainDigest(root); d != d1 {
		t.Errorf("a standard-library source changed the digest; only VERSION, bin and pkg/tool count")
	}
	write("pkg/tool/linux_amd64/compile", "another compiler")
	if _, d, _ := ToolchainDigest(root); d == d1 {
		t.Errorf("another compiler left the digest as it was")
	}
	if _, _, err := ToolchainDigest(filepath.Join(root, "missing")); err == nil {
		t.Errorf("no error for a directory with no toolchain")
	}
}
