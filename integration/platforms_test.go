//go:build e2e

package integration

import (
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// releasePlatforms are the platforms the cross-platform cases bundle for:
// this machine's and those most programs are released for.
func releasePlatforms() []string {
	ps := []string{runtime.GOOS + "/" + runtime.GOARCH}
	for _, p := range []string{"linux/amd64", "linux/arm64", "darwin/arm64", "darwin/amd64", "windows/amd64"} {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// cross is the test host bundled once per run for releasePlatforms.
var cross struct {
	once sync.Once
	dir  string
	env  []string
	ok   bool
}

// crossHost bundles testdata/host.txtar for every platform of
// releasePlatforms (at the fastest level: these cases are about what goes
// where, not size) and returns its directory and build environment.
func crossHost(t *testing.T) (string, []string) {
	t.Helper()
	cross.once.Do(func() {
		dir := filepath.Join(filepath.Dir(shared.repo), "crosshost")
		cross.dir, cross.env = bundleHost(t, hostBuild{dir: dir, bundleFlags: []string{"-level", "fastest", "-platforms", strings.Join(releasePlatforms(), ",")}})
		cross.ok = true
	})
	if !cross.ok {
		t.Fatal("bundling the host for several platforms failed (see the first case that tried)")
	}
	return cross.dir, cross.env
}

// buildFor builds the bundled host at dir for platform p.
func buildFor(t *testing.T, dir string, hostEnv []string, p string) string {
	t.Helper()
	goos, goarch, _ := strings.Cut(p, "/")
	bin := filepath.Join(t.TempDir(), "host-"+goos+"-"+goarch)
	if goos == "windows" {
		bin += ".exe"
	}
	run(t, true, dir, append(slices.Clone(hostEnv), "GOOS="+goos, "GOARCH="+goarch), "go", "build", "-o", bin, ".")
	return bin
}

// TestCrossPlatformBundles: one bundle -platforms run gives each
// platform's build its own toolchain, made for that platform, and no
// other platform's; a build for a platform the bundle lacks says so when
// asked to rebuild.
func TestCrossPlatformBundles(t *testing.T) {
	dir, hostEnv := crossHost(t)
	sizes := map[string]int64{}
	manifests := map[string]*bundle.Manifest{}
	for _, p := range releasePlatforms() {
		goos, goarch, _ := strings.Cut(p, "/")
		m, err := bundle.ReadManifestFile(os.DirFS(dir), bundle.PlatformFile(bundle.ManifestFile, goos, goarch))
		if err != nil {
			t.Fatal(err)
		}
		if m.GOOS != goos || m.GOARCH != goarch {
			t.Errorf("the manifest for %s says %s/%s", p, m.GOOS, m.GOARCH)
		}
		manifests[p], sizes[p] = m, m.Parts[bundle.ToolchainFile].Size
		checkToolchainPart(t, dir, m)
	}
	for _, p := range releasePlatforms() {
		bin := buildFor(t, dir, hostEnv, p)
		out := run(t, true, "", env(), "go", "run", "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile", "inspect", "-json", bin)
		var rep struct {
			GOOS, GOARCH string
			Bundle       *bundle.Manifest
		}
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep); err != nil {
			t.Fatal(err)
		}
		want := manifests[p]
		if rep.GOOS+"/"+rep.GOARCH != p || rep.Bundle == nil || rep.Bundle.Parts[bundle.ToolchainFile] != want.Parts[bundle.ToolchainFile] {
			t.Errorf("the %s binary is %s/%s and carries toolchain %+v, want the %s toolchain %+v", p, rep.GOOS, rep.GOARCH, rep.Bundle, p, want.Parts[bundle.ToolchainFile])
		}
		// Only its own toolchain is embedded: the binary is smaller than
		// its toolchain plus the smallest other one.
		fi, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		smallestOther := int64(1) << 62
		for q, size := range sizes {
			if q != p {
				smallestOther = min(smallestOther, size)
			}
		}
		if fi.Size() >= sizes[p]+smallestOther {
			t.Errorf("the %s binary is %d bytes, at least its toolchain (%d) and another (%d): it embeds more than its own", p, fi.Size(), sizes[p], smallestOther)
		}
		t.Logf("%s: binary %.1f MiB, toolchain part %.1f MiB", p, float64(fi.Size())/(1<<20), float64(sizes[p])/(1<<20))
	}
}

// TestMissingPlatform: a binary built for a platform its bundle was not
// generated for refuses to rebuild, in one line naming what to do, and
// is left as it was.
func TestMissingPlatform(t *testing.T) {
	here := runtime.GOOS + "/" + runtime.GOARCH
	other := "linux/arm64"
	if here == other {
		other = "linux/amd64"
	}
	dir, hostEnv := bundleHost(t, hostBuild{bundleFlags: []string{"-level", "fastest", "-platforms", other}})
	bin := buildFor(t, dir, hostEnv, here)
	before := testkit.Snapshot(t, filepath.Dir(bin))
	out := run(t, false, filepath.Dir(bin), env(), bin, "install", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, fmt.Sprintf("host: prepare: this binary (%s) carries no toolchain for its platform: its bundle was generated for %s; add %s to go-selfcompile bundle -platforms and build it again", here, other, here))
	if after := testkit.Snapshot(t, filepath.Dir(bin)); !maps.Equal(before, after) {
		t.Errorf("a refused rebuild changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// TestLinuxArm64UnderEmulation: a linux/arm64 binary, built here from a
// bundle made here, rebuilds itself with a plugin from the module proxy
// under qemu user-mode emulation (the go command, compiler and linker it
// runs are arm64 too), and the result runs. .ci/run sets
// SELFCOMPILE_REQUIRE_EMULATION so that a machine without emulation
// fails instead of skipping.
func TestLinuxArm64UnderEmulation(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH == "arm64" {
		t.Skipf("runs linux/arm64 under emulation on another linux machine; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	requireEmulation(t)
	dir, hostEnv := crossHost(t)
	bin := buildFor(t, dir, hostEnv, "linux/arm64")
	out := run(t, true, filepath.Dir(bin), env(), bin, "install", "example.com/hostplugin@v1.0.0")
	mustContain(t, out, "selfcompile: smoke")
	mustContain(t, run(t, true, "", env(), bin), "[hostplugin v1.0.0 with shared v1.1.0]")
	if m := elfMachine(t, bin); m != elf.EM_AARCH64 {
		t.Errorf("the rebuilt binary is for %v, want arm64", m)
	}
}

// requireEmulation skips the test, or fails it under
// SELFCOMPILE_REQUIRE_EMULATION, when linux/arm64 programs do not run here.
func requireEmulation(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	prog := filepath.Join(dir, "main.go")
	if err := os.WriteFile(prog, []byte("package main\n\nfunc main() { println(\"arm64 runs\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "probe")
	build := exec.Command("go", "build", "-o", exe, prog)
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the arm64 probe: %v\n%s", err, out)
	}
	out, err := exec.Command(exe).CombinedOutput()
	if err == nil && strings.Contains(string(out), "arm64 runs") {
		return
	}
	msg := fmt.Sprintf("linux/arm64 programs do not run here (%v: %s): install qemu-user-static and binfmt-support and mount binfmt_misc, as .ci/run does", err, out)
	if os.Getenv("SELFCOMPILE_REQUIRE_EMULATION") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// checkToolchainPart extracts the toolchain part of m's platform from the
// bundle in dir and checks that its go command and tools are executables
// for that platform and that it carries no other platform's tools.
func checkToolchainPart(t *testing.T, dir string, m *bundle.Manifest) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, bundle.PlatformFile(bundle.ToolchainFile, m.GOOS, m.GOARCH)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dest := t.TempDir()
	if err := archive.Extract(f, dest, m.Parts[bundle.ToolchainFile]); err != nil {
		t.Fatal(err)
	}
	defer makeWritable(dest)
	exe := ""
	if m.GOOS == "windows" {
		exe = ".exe"
	}
	tools, err := os.ReadDir(filepath.Join(dest, "go", "pkg", "tool"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tools) != 1 || tools[0].Name() != m.GOOS+"_"+m.GOARCH {
		t.Errorf("%s/%s toolchain has pkg/tool %v, want only %s_%s", m.GOOS, m.GOARCH, tools, m.GOOS, m.GOARCH)
	}
	for _, name := range []string{"bin/go" + exe, "pkg/tool/" + m.GOOS + "_" + m.GOARCH + "/compile" + exe, "pkg/tool/" + m.GOOS + "_" + m.GOARCH + "/link" + exe} {
		goos, goarch := executablePlatform(t, filepath.Join(dest, "go", filepath.FromSlash(name)))
		if goos != m.GOOS || goarch != m.GOARCH {
			t.Errorf("%s/%s toolchain: %s is a %s/%s executable", m.GOOS, m.GOARCH, name, goos, goarch)
		}
	}
}

// executablePlatform reads the platform of an ELF, Mach-O or PE file.
func executablePlatform(t *testing.T, name string) (goos, goarch string) {
	t.Helper()
	if f, err := elf.Open(name); err == nil {
		defer f.Close()
		switch f.Machine {
		case elf.EM_X86_64:
			return "linux", "amd64"
		case elf.EM_AARCH64:
			return "linux", "arm64"
		}
		return "linux", f.Machine.String()
	}
	if f, err := macho.Open(name); err == nil {
		defer f.Close()
		switch f.Cpu {
		case macho.CpuAmd64:
			return "darwin", "amd64"
		case macho.CpuArm64:
			return "darwin", "arm64"
		}
		return "darwin", f.Cpu.String()
	}
	if f, err := pe.Open(name); err == nil {
		defer f.Close()
		switch f.Machine {
		case pe.IMAGE_FILE_MACHINE_AMD64:
			return "windows", "amd64"
		case pe.IMAGE_FILE_MACHINE_ARM64:
			return "windows", "arm64"
		}
		return "windows", fmt.Sprint(f.Machine)
	}
	t.Fatalf("%s is not an ELF, Mach-O or PE file", name)
	return "", ""
}

func elfMachine(t *testing.T, name string) elf.Machine {
	t.Helper()
	f, err := elf.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Machine
}
