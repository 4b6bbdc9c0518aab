package toolchain

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// BenchmarkPart measures the toolchain part of the local GOROOT as the
// zstd package writes it (best level, LongWindow; the generator uses the
// zstd command instead when it is on PATH, about 12% smaller): its size
// for this platform, then what Install costs in a fresh process:
// extraction time and peak resident memory (Linux only). Run it with
//
//	go test -run '^$' -bench Part -benchtime 1x ./internal/toolchain/
//
// With TOOLCHAIN_PART=FILE, the "given" sub-benchmark installs that
// archive. The src-only sub-benchmarks give the size of SourceFiles for other
// platforms (their pkg/tool binaries are not in the local GOROOT; they add
// about 10 MB compressed on linux/amd64).
func BenchmarkPart(b *testing.B) {
	out, err := exec.Command(testkit.NeedGo(b), "env", "GOROOT").Output()
	if err != nil {
		b.Fatal(err)
	}
	goroot := strings.TrimSpace(string(out))
	host := runtime.GOOS + "/" + runtime.GOARCH
	b.Run("full="+strings.ReplaceAll(host, "/", "_"), func(b *testing.B) {
		entries, err := Files(goroot, goroot, runtime.GOOS, runtime.GOARCH, false)
		if err != nil {
			b.Skip(err)
		}
		for b.Loop() {
			measurePart(b, entries)
		}
	})
	if name := os.Getenv("TOOLCHAIN_PART"); name != "" {
		// An existing part, e.g. the one go generate wrote with the
		// zstd command: only its extraction.
		b.Run("given", func(b *testing.B) {
			data, err := os.ReadFile(name)
			if err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256(data)
			for b.Loop() {
				measureInstall(b, name, bundle.Part{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
			}
			b.ReportMetric(float64(len(data))/1e6, "part-MB")
		})
	}
	b.Run("full-window8MiB="+strings.ReplaceAll(host, "/", "_"), func(b *testing.B) {
		entries, err := Files(goroot, goroot, runtime.GOOS, runtime.GOARCH, false)
		if err != nil {
			b.Skip(err)
		}
		for b.Loop() {
			name, part := writePart(b, entries, 0)
			measureInstall(b, name, part)
		}
	})
	// Other platforms' whole toolchains, e.g. unpacked from the module
	// golang.org/toolchain@v0.0.1-go1.26.8.linux-arm64:
	// TOOLCHAIN_GOROOTS=linux/arm64=DIR,darwin/arm64=DIR.
	for _, kv := range strings.Split(os.Getenv("TOOLCHAIN_GOROOTS"), ",") {
		p, dir, ok := strings.Cut(kv, "=")
		goos, goarch, _ := strings.Cut(p, "/")
		if !ok {
			continue
		}
		b.Run("full="+goos+"_"+goarch, func(b *testing.B) {
			entries, err := Files(dir, dir, goos, goarch, false)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				writePart(b, entries, archive.LongWindow)
			}
		})
	}
	for _, p := range []string{"linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"} {
		goos, goarch, _ := strings.Cut(p, "/")
		b.Run("src="+goos+"_"+goarch, func(b *testing.B) {
			entries, err := SourceFiles(goroot, goos, goarch)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				writePart(b, entries, archive.LongWindow)
			}
		})
	}
}

// writePart archives entries into a temporary file and reports the sizes.
func writePart(b *testing.B, entries []bundle.Entry, window int) (string, bundle.Part) {
	var raw int64
	for _, e := range entries {
		fi, err := os.Stat(e.Src)
		if err != nil {
			b.Fatal(err)
		}
		raw += fi.Size()
	}
	name := filepath.Join(b.TempDir(), "toolchain.tar.zst")
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	part, err := archive.WriteArchiveWindow(f, entries, archive.LevelBest, window)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(entries)), "files")
	b.ReportMetric(float64(raw)/1e6, "input-MB")
	b.ReportMetric(float64(part.Size)/1e6, "part-MB")
	b.ReportMetric(float64(part.Size)/(1<<20), "part-MiB")
	b.ReportMetric(time.Since(start).Seconds(), "compress-s")
	return name, part
}

func measurePart(b *testing.B, entries []bundle.Entry) {
	name, part := writePart(b, entries, archive.LongWindow)
	measureInstall(b, name, part)
}

func measureInstall(b *testing.B, name string, part bundle.Part) {
	// Extract in a fresh process (this test binary, see TestMain), so that
	// its peak resident memory is the extraction's alone.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), measureEnv+"="+strings.Join([]string{name, part.SHA256, strconv.FormatInt(part.Size, 10), b.TempDir()}, "\n"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("extracting: %v\n%s", err, out)
	}
	var secs float64
	var peak, base int64
	if _, err := fmt.Sscanf(string(out), "extract %g s, peak %d, base %d", &secs, &peak, &base); err != nil {
		b.Fatalf("extracting: %q: %v", out, err)
	}
	b.ReportMetric(secs, "extract-s")
	if peak > 0 {
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(base)/(1<<20), "start-RSS-MiB")
	}
}

// measureEnv, when set, makes the test binary install the toolchain
// archive it names and print the time and peak memory.
const measureEnv = "GO_SELFCOMPILE_MEASURE_INSTALL"

func TestMain(m *testing.M) {
	if v := os.Getenv(measureEnv); v != "" {
		f := strings.Split(v, "\n")
		size, _ := strconv.ParseInt(f[2], 10, 64)
		base := procStatus("VmRSS:")
		start := time.Now()
		if _, _, err := Install(func() (io.ReadCloser, error) { return os.Open(f[0]) }, bundle.Part{SHA256: f[1], Size: size}, f[3]); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Printf("extract %g s, peak %d, base %d\n", time.Since(start).Seconds(), procStatus("VmHWM:"), base)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// procStatus returns a memory figure of this process from
// /proc/self/status (Linux) in bytes, 0 where there is none.
func procStatus(key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
