//go:build e2e

package integration

import (
	"archive/zip"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/goswitch"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
)

// TestToolchainSwitch moves the test host to a newer Go (Options.Toolchain)
// through one file:// module proxy (the go command checks
// golang.org/toolchain against the checksum database unless GOPROXY is
// one file:// URL) that serves a real toolchain of a newer release than
// this machine's: built from the local GOROOT's source as goX.Y.99
// (fakeToolchain). A plugin whose go.mod asks that release is refused
// without the option, in one line naming it, and the binary is left as
// it was; with an exact release or "patch" the rebuild moves, the new
// binary says the new Go (go version, its smoke report, inspect), and it
// rebuilds again with no toolchain on the proxy.
func TestToolchainSwitch(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake toolchain's build uses a shell script as -toolexec")
	}
	out, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	goroot, local := f[0], f[1]
	if !goswitch.IsRelease(local) {
		t.Skipf("this machine's Go (%s) is not a release: no newer release to make", local)
	}
	fake := goswitch.Minor(local) + ".99"
	tcDir := fakeToolchain(t, goroot, local, fake)
	line := strings.TrimPrefix(fake, "go")
	mods := switchModules(t, line)
	withTC := t.TempDir()
	for _, l := range [][2]string{{filepath.Join(mods, "example.com"), "example.com"}, {filepath.Join(tcDir, "golang.org"), "golang.org"}} {
		if err := os.Symlink(l[0], filepath.Join(withTC, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	// GONOSUMDB names golang.org/toolchain: with GOPROXY one file://
	// URL, the go command checks it only as GONOSUMDB says.
	online := func(extra ...string) []string {
		return env(append([]string{"GOPROXY=file://" + filepath.ToSlash(withTC), "GONOSUMDB=example.com," + toolchain.ModulePath}, extra...)...)
	}
	host := buildHost(t, "")

	t.Run("refused", func(t *testing.T) {
		bin := install(t, host)
		before := testkit.Snapshot(t, filepath.Dir(bin))
		out := run(t, false, filepath.Dir(bin), online(), bin, "install", "example.com/newgo@v1.0.0")
		mustContain(t, out, "example.com/newgo@v1.0.0 needs go "+line+" (its go.mod's go line), but this binary's Go is "+local+": allow the move to a newer Go with Options.Toolchain \"patch\"", "refusal: spec in modgen")
		out = run(t, false, filepath.Dir(bin), online("HOST_TOOLCHAIN="+line), bin, "install", "example.com/hostplugin@v1.0.0")
		mustContain(t, out, "host: prepare: toolchain \""+line+"\": want \"patch\", \"latest\" or a Go release such as \"go1.26.9\"", "refusal: toolchain in prepare")
		if after := testkit.Snapshot(t, filepath.Dir(bin)); !maps.Equal(before, after) {
			t.Errorf("a refused rebuild changed the directory:\nbefore %v\nafter  %v", before, after)
		}
	})

	bin := install(t, host)
	t.Run("exact", func(t *testing.T) {
		out := run(t, true, filepath.Dir(bin), online("HOST_TOOLCHAIN="+fake), bin, "install", "example.com/hostplugin@v1.0.0")
		mustContain(t, out, "selfcompile: toolchain "+local+" -> "+fake, "result: go "+fake+", moved true, smoke go "+fake)
		checkSwitched(t, bin, local, fake)
		mustContain(t, run(t, true, "", env(), bin), "hostplugin v1.0.0")
	})

	t.Run("offline", func(t *testing.T) {
		// The proxy serves the plugin but no toolchain: the switched
		// binary builds with the one it carries, and the plugin's go
		// line is within its reach.
		out := run(t, true, filepath.Dir(bin), env("GOPROXY=file://"+filepath.ToSlash(mods)), bin, "install", "example.com/newgo@v1.0.0")
		mustNotContain(t, out, "selfcompile: toolchain "+local)
		mustContain(t, run(t, true, "", env(), bin), "newgo v1.0.0", "hostplugin v1.0.0")
		checkSwitched(t, bin, local, fake)
	})

	t.Run("patch", func(t *testing.T) {
		bin := install(t, host)
		out := run(t, true, filepath.Dir(bin), online("HOST_TOOLCHAIN=patch"), bin, "install", "example.com/newgo@v1.0.0")
		mustContain(t, out, "selfcompile: toolchain "+local+" -> "+fake, "result: go "+fake+", moved true")
		mustContain(t, run(t, true, "", env(), "go", "version", bin), fake)
	})
}

// checkSwitched checks that bin was moved from Go local to fake: go
// version, its manifest and inspect say so.
func checkSwitched(t *testing.T, bin, local, fake string) {
	t.Helper()
	mustContain(t, run(t, true, "", env(), "go", "version", bin), bin+": "+fake)
	m, err := bundle.ManifestInBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	if m.GoVersion != fake || m.Switched == nil || m.Switched.From != local || !strings.HasPrefix(m.Switched.Sum, "h1:") {
		t.Errorf("manifest: go %s, switched %+v; want %s, switched from %s with its sum", m.GoVersion, m.Switched, fake, local)
	}
	if m.Rebuild == nil || m.Rebuild.GoVersion != fake {
		t.Errorf("rebuild record %+v: want it built by %s", m.Rebuild, fake)
	}
	if _, ok := m.Parts[bundle.StdCacheFile]; ok {
		t.Error("the new bundle kept the old toolchain's compiled standard packages")
	}
	out := run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", bin)
	mustContain(t, out, fake+", switched from "+local+" at a rebuild: golang.org/toolchain@"+toolchain.ModuleVersion(fake, runtime.GOOS, runtime.GOARCH)+" h1:")
}

// fakeToolchain builds, from the local GOROOT's source, a toolchain that
// is release fake: the go command and the tools of toolchain.Tools with
// internal/buildcfg's version constant replaced (-overlay), in two
// stages: the tools built by this machine's, then the tools and the go
// command again, compiled and linked by the first stage's (-toolexec),
// since a program's runtime.Version is what its linker stamps, and the
// compiler refuses a go command of another version. It returns a
// module proxy directory serving it (toolchainModuleProxy).
func fakeToolchain(t *testing.T, goroot, local, fake string) string {
	t.Helper()
	dir := t.TempDir()
	zb := filepath.Join(goroot, "src", "internal", "buildcfg", "zbootstrap.go")
	data, err := os.ReadFile(zb)
	if err != nil {
		t.Fatal(err)
	}
	old := "const version = `" + local + "`"
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %s", zb, old)
	}
	newZB := filepath.Join(dir, "zbootstrap.go")
	versionFile := filepath.Join(dir, "VERSION")
	overlay := filepath.Join(dir, "overlay.json")
	ov, _ := json.Marshal(map[string]any{"Replace": map[string]string{zb: newZB}})
	script := "#!/bin/sh\ntool=$1; shift\ncase \"${tool##*/}\" in compile|asm|link|cgo) exec " + dir + "/stage1/\"${tool##*/}\" \"$@\";; esac\nexec \"$tool\" \"$@\"\n"
	for name, content := range map[string]string{
		newZB: strings.Replace(string(data), old, "const version = `"+fake+"`", 1), overlay: string(ov),
		versionFile: fake + "\ntime 2026-01-01T00:00:00Z\n", filepath.Join(dir, "toolexec"): script,
	} {
		if err := os.WriteFile(name, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bins := filepath.Join(dir, "go")
	tools := filepath.Join(bins, "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH) + string(filepath.Separator)
	buildEnv := append(hostGoEnv(), "CGO_ENABLED=0", "GOFLAGS=", "GOTOOLCHAIN=local", "GOWORK=off")
	src := filepath.Join(goroot, "src")
	cmds := []string{"cmd/compile", "cmd/link", "cmd/asm", "cmd/cgo"}
	stage1 := filepath.Join(dir, "stage1") + string(filepath.Separator)
	run(t, true, src, buildEnv, "go", append([]string{"build", "-overlay", overlay, "-trimpath", "-ldflags=-s -w", "-o", stage1}, cmds...)...)
	stage2 := []string{"build", "-overlay", overlay, "-trimpath", "-ldflags=-s -w", "-toolexec", filepath.Join(dir, "toolexec")}
	run(t, true, src, buildEnv, "go", append(append(stage2, "-o", tools), cmds...)...)
	run(t, true, src, buildEnv, "go", append(stage2, "-o", filepath.Join(bins, "bin", "go"), "cmd/go")...)
	mustContain(t, run(t, true, "", append(buildEnv, "GOROOT="+goroot), filepath.Join(bins, "bin", "go"), "version"), "go version "+fake+" ")
	mustContain(t, run(t, true, "", buildEnv, "go", "version", filepath.Join(tools, "compile")), ": "+fake)

	entries, err := toolchain.Files(goroot, bins, runtime.GOOS, runtime.GOARCH, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		switch e.Name {
		case "go/VERSION":
			entries[i].Src = versionFile
		case "go/src/internal/buildcfg/zbootstrap.go":
			entries[i].Src = newZB
		}
	}
	return toolchainModuleProxy(t, local, fake, entries)
}

// toolchainModuleProxy returns a module proxy directory serving entries
// as golang.org/toolchain for release fake, whose version list also
// names the local release, a release candidate and another platform's
// release, which "patch" and "latest" must pass over.
func toolchainModuleProxy(t *testing.T, local, fake string, entries []bundle.Entry) string {
	t.Helper()
	proxy := t.TempDir()
	vdir := filepath.Join(proxy, toolchain.ModulePath, "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	version := toolchain.ModuleVersion(fake, runtime.GOOS, runtime.GOARCH)
	writeToolchainZip(t, filepath.Join(vdir, version+".zip"), version, entries)
	other := "linux-arm64"
	if runtime.GOOS+"-"+runtime.GOARCH == other {
		other = "linux-amd64"
	}
	list := []string{
		toolchain.ModuleVersion(local, runtime.GOOS, runtime.GOARCH), version,
		toolchain.ModuleVersion(goswitch.Minor(fake)+".100", strings.Split(other, "-")[0], strings.Split(other, "-")[1]),
		toolchain.ModuleVersion("go1.99rc1", runtime.GOOS, runtime.GOARCH),
	}
	if err := os.WriteFile(filepath.Join(vdir, "list"), []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Every listed version has its .info and .mod (the go command reads
	// the newest one's for retractions); only the fake one has a zip.
	for _, v := range list {
		info, _ := json.Marshal(map[string]any{"Version": v, "Time": time.Now().UTC().Format(time.RFC3339)})
		for name, data := range map[string]string{v + ".mod": "module " + toolchain.ModulePath + "\n", v + ".info": string(info)} {
			if err := os.WriteFile(filepath.Join(vdir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return proxy
}

// writeToolchainZip writes entries as the zip of golang.org/toolchain at
// version, laid out as the Go project publishes it: every file under
// golang.org/toolchain@VERSION/, go.mod files renamed _go.mod.
func writeToolchainZip(t *testing.T, name, version string, entries []bundle.Entry) {
	t.Helper()
	zf, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	zw := zip.NewWriter(zf)
	for _, e := range entries {
		rel := strings.TrimPrefix(e.Name, "go/")
		if filepath.Base(rel) == "go.mod" {
			rel = strings.TrimSuffix(rel, "go.mod") + "_go.mod"
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: toolchain.ModulePath + "@" + version + "/" + rel, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.Open(e.Src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(w, src)
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// switchModules returns a module proxy directory serving the test
// modules the cases install, fetched from the suite's proxy, and
// example.com/newgo v1.0.0, a plugin of the test host whose go.mod asks
// go line: made here, since the release it asks depends on this
// machine's Go.
func switchModules(t *testing.T, line string) string {
	t.Helper()
	cache := t.TempDir()
	run(t, true, t.TempDir(), env("GOMODCACHE="+cache, "GOFLAGS=-modcacherw"), "go", "mod", "download", "example.com/hostplugin@v1.0.0", "example.com/shared@v1.1.0")
	proxy := filepath.Join(cache, "cache", "download")
	src := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":   "module example.com/newgo\n\ngo " + line + "\n\nrequire example.com/host v0.1.0\n",
		"newgo.go": "// Package newgo is a plugin that needs a newer Go.\npackage newgo\n\nimport \"example.com/host/registry\"\n\nfunc init() { registry.Register(\"newgo v1.0.0\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vdir := filepath.Join(proxy, "example.com", "newgo", "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(vdir, "v1.0.0.zip"))
	if err != nil {
		t.Fatal(err)
	}
	err = modzip.CreateFromDir(zf, module.Version{Path: "example.com/newgo", Version: "v1.0.0"}, src)
	if cerr := zf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	gomod, _ := os.ReadFile(filepath.Join(src, "go.mod"))
	for name, data := range map[string][]byte{"v1.0.0.mod": gomod, "v1.0.0.info": []byte(`{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}`)} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Each module's version list, which go list -retracted reads.
	err = filepath.WalkDir(proxy, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() != "@v" {
			return err
		}
		infos, _ := filepath.Glob(filepath.Join(p, "*.info"))
		var versions []string
		for _, i := range infos {
			versions = append(versions, strings.TrimSuffix(filepath.Base(i), ".info"))
		}
		return os.WriteFile(filepath.Join(p, "list"), []byte(strings.Join(versions, "\n")+"\n"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return proxy
}
