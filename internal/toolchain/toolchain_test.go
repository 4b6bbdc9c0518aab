package toolchain

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/tcache"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// fakeToolchain archives a tiny tree shaped like a GOROOT.
func fakeToolchain(t *testing.T) ([]byte, bundle.Part) {
	t.Helper()
	src := t.TempDir()
	var entries []bundle.Entry
	for _, name := range []string{"VERSION", "bin/go", "src/fmt/print.go"} {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(name), 0o755); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, bundle.Entry{Name: "go/" + name, Src: p})
	}
	var buf bytes.Buffer
	part, err := archive.WriteArchive(&buf, entries, archive.LevelFast)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), part
}

func opener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func TestInstallOnceAndReuse(t *testing.T) {
	data, part := fakeToolchain(t)
	cache := t.TempDir()
	opens := 0
	open := func() (io.ReadCloser, error) { opens++; return opener(data)() }
	var wg sync.WaitGroup
	roots := make([]string, 4)
	errs := make([]error, 4)
	for i := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			roots[i], _, errs[i] = Install(opener(data), part, cache)
		}()
	}
	wg.Wait()
	for i := range roots {
		if errs[i] != nil || roots[i] != roots[0] {
			t.Fatalf("concurrent Install %d: %q, %v", i, roots[i], errs[i])
		}
	}
	if got, err := os.ReadFile(GoBin(roots[0])); err != nil || string(got) != "bin/go" {
		t.Fatalf("installed go: %q, %v", got, err)
	}
	if _, _, err := Install(open, part, cache); err != nil || opens != 0 {
		t.Errorf("second Install opened the archive %d times (err %v), want reuse", opens, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(cache, "toolchain", ".extract-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directories left: %v", leftovers)
	}
}

func TestInstallRefusesTamperedArchive(t *testing.T) {
	data, part := fakeToolchain(t)
	bad := append([]byte(nil), data...)
	bad[len(bad)-5] ^= 0xff
	cache := t.TempDir()
	_, _, err := Install(opener(bad), part, cache)
	if err == nil {
		t.Fatal("Install accepted a tampered archive")
	}
	entries, _ := os.ReadDir(filepath.Join(cache, "toolchain"))
	if len(entries) != 0 {
		t.Errorf("tampered install left %v", entries)
	}
}

func TestInstallReplacesIncompleteLeftover(t *testing.T) {
	data, part := fakeToolchain(t)
	cache := t.TempDir()
	root := filepath.Join(cache, "toolchain", part.SHA256[:32])
	os.MkdirAll(filepath.Join(root, "go"), 0o755) // no completion marker
	goroot, _, err := Install(opener(data), part, cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(GoBin(goroot)); err != nil {
		t.Errorf("leftover not replaced: %v", err)
	}
}

func TestInstallRejectsForeignCacheEntry(t *testing.T) {
	data, part := fakeToolchain(t)
	cache := t.TempDir()
	root := filepath.Join(cache, "toolchain", part.SHA256[:32])
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, tcache.CompleteMarker), []byte(strings.Repeat("f", 64)), 0o644)
	if _, _, err := Install(opener(data), part, cache); err == nil || !strings.Contains(err.Error(), "remove the directory") {
		t.Errorf("Install over a mismatched cache entry: %v", err)
	}
}

func TestFilesTrimsGOROOT(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{
		"VERSION", "go.env", "bin/go", "pkg/include/asm.h",
		"pkg/tool/linux_amd64/compile", "pkg/tool/linux_amd64/link", "pkg/tool/linux_amd64/asm", "pkg/tool/linux_amd64/cgo",
		"pkg/tool/linux_amd64/vet", "src/fmt/print.go", "src/fmt/print_test.go", "src/fmt/testdata/x",
		"src/cmd/go/main.go", "doc/go_spec.html",
		// Named for a platform: kept only for that one.
		"src/os/file_windows.go", "src/os/file_linux.go", "src/os/file_unix.go", "src/os/_x_windows.go",
		"src/runtime/asm_arm64.s", "src/runtime/asm_amd64.s", "src/runtime/sys_linux_arm64.s",
		"src/runtime/os_android.go", "src/runtime/time_windows.h", "src/runtime/cgo/gcc_windows_amd64.c",
		"src/runtime/race/race_linux_arm64.syso", "src/runtime/race/internal/amd64v1/race_linux.syso",
		"src/runtime/race/internal/amd64v1/race_windows.syso", "src/runtime/race/internal/amd64v3/race_linux.syso",
		"src/crypto/internal/boring/syso/goboringcrypto_linux_amd64.syso",
		"src/crypto/internal/boring/syso/goboringcrypto_linux_arm64.syso",
		// Read by cmd/trace only.
		"src/internal/trace/traceviewer/static/trace_viewer_full.html", "src/internal/trace/traceviewer/http.go",
		"src/internal/trace/event.go",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	entries, err := Files(root, root, "linux", "amd64", false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name)
	}
	want := "go/VERSION go/go.env go/bin/go go/pkg/tool/linux_amd64/compile go/pkg/tool/linux_amd64/link go/pkg/tool/linux_amd64/asm go/pkg/tool/linux_amd64/cgo go/pkg/include/asm.h " +
		"go/src/crypto/internal/boring/syso/goboringcrypto_linux_amd64.syso go/src/fmt/print.go go/src/internal/trace/event.go " +
		"go/src/os/_x_windows.go go/src/os/file_linux.go go/src/os/file_unix.go " +
		"go/src/runtime/asm_amd64.s go/src/runtime/cgo/gcc_windows_amd64.c " +
		"go/src/runtime/race/internal/amd64v1/race_linux.syso go/src/runtime/race/internal/amd64v3/race_linux.syso go/src/runtime/time_windows.h"
	if strings.Join(got, " ") != want {
		t.Errorf("Files:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if _, err := Files(root, root, "linux", "amd64", true); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Files with pgo and no preprofile: %v, want a missing-file error", err)
	}
	// Another platform's source set from the same tree: android reads
	// linux files, and its own. The amd64 race objects are named for linux
	// alone, so they stay (their package is amd64-only by a build
	// constraint inside its Go files, which the name rule does not read).
	src, err := SourceFiles(root, "android", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, e := range src {
		if strings.HasSuffix(e.Name, ".s") || strings.HasSuffix(e.Name, ".syso") || strings.HasPrefix(e.Name, "go/src/os/") || strings.HasPrefix(e.Name, "go/src/runtime/os_") {
			got = append(got, e.Name)
		}
	}
	want = "go/src/crypto/internal/boring/syso/goboringcrypto_linux_arm64.syso go/src/os/_x_windows.go go/src/os/file_linux.go go/src/os/file_unix.go " +
		"go/src/runtime/asm_arm64.s go/src/runtime/os_android.go " +
		"go/src/runtime/race/internal/amd64v1/race_linux.syso go/src/runtime/race/internal/amd64v3/race_linux.syso go/src/runtime/race/race_linux_arm64.syso go/src/runtime/sys_linux_arm64.s"
	if strings.Join(got, " ") != want {
		t.Errorf("SourceFiles android/arm64:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

// TestSourceFilesHoldWhatStdReads asks the local go command which files
// every standard package reads for each platform, with cgo on and with the
// race detector's and boringcrypto's objects, and checks that SourceFiles
// for that platform holds each of them: what the name rule drops is never
// one of them.
func TestSourceFilesHoldWhatStdReads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list for several platforms")
	}
	goBin := testkit.NeedGo(t)
	out, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	goroot := strings.TrimSpace(string(out))
	for _, p := range []struct{ goos, goarch, env string }{
		{"linux", "amd64", "GOAMD64=v3"},
		{"linux", "amd64", "GOEXPERIMENT=boringcrypto"},
		{"linux", "arm64", ""},
		{"darwin", "arm64", ""},
		{"windows", "amd64", ""},
		{"android", "arm64", ""},
	} {
		t.Run(p.goos+"_"+p.goarch+"_"+p.env, func(t *testing.T) {
			entries, err := SourceFiles(goroot, p.goos, p.goarch)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, e := range entries {
				have[strings.TrimPrefix(e.Name, "go/")] = true
			}
			cmd := exec.Command(goBin, "list", "-e", "-json=Dir,GoFiles,CgoFiles,CFiles,HFiles,SFiles,SysoFiles,EmbedFiles,IgnoredGoFiles", "std")
			cmd.Env = append(os.Environ(), "GOOS="+p.goos, "GOARCH="+p.goarch, "CGO_ENABLED=1", "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
			if p.env != "" {
				cmd.Env = append(cmd.Env, p.env)
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list std: %v", err)
			}
			dec := json.NewDecoder(bytes.NewReader(out))
			checked := 0
			for {
				var pkg struct {
					Dir                                                              string
					GoFiles, CgoFiles, CFiles, HFiles, SFiles, SysoFiles, EmbedFiles []string
					IgnoredGoFiles                                                   []string
				}
				if err := dec.Decode(&pkg); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				rel, err := filepath.Rel(goroot, pkg.Dir)
				if err != nil || strings.HasPrefix(filepath.ToSlash(rel), "src/internal/trace/traceviewer") {
					continue // not imported by any program outside cmd
				}
				var files []string
				for _, l := range [][]string{pkg.GoFiles, pkg.CgoFiles, pkg.CFiles, pkg.HFiles, pkg.SFiles, pkg.SysoFiles, pkg.EmbedFiles} {
					files = append(files, l...)
				}
				// Files excluded by a build constraint inside them are
				// read to find it: they must be there too.
				for _, f := range pkg.IgnoredGoFiles {
					if !strings.HasSuffix(f, "_test.go") && forPlatform(build.Context{GOOS: p.goos, GOARCH: p.goarch}, f) {
						files = append(files, f)
					}
				}
				for _, f := range files {
					name := path.Join(filepath.ToSlash(rel), f)
					checked++
					if !have[name] {
						t.Errorf("%s/%s: go list reads %s; SourceFiles left it out", p.goos, p.goarch, name)
					}
				}
			}
			if checked < 1000 {
				t.Errorf("only %d files checked: go list gave too little", checked)
			}
		})
	}
}

// A toolchain installed from a distribution (tcache.KeepFromZip, used by
// slim bundles) holds every file a bundle's toolchain part holds.
func TestZipInstallKeepsTheBundleSet(t *testing.T) {
	out, err := exec.Command(testkit.NeedGo(t), "env", "GOROOT", "GOOS", "GOARCH").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	goroot, goos, goarch := f[0], f[1], f[2]
	entries, err := Files(goroot, goroot, goos, goarch, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if rel := strings.TrimPrefix(e.Name, "go/"); !tcache.KeepFromZip(rel, goos, goarch) {
			t.Errorf("%s is in the bundle's set, not in a distribution's", rel)
		}
	}
	t.Logf("%d files checked", len(entries))
}
