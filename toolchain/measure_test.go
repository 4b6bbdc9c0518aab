package toolchain

import (
	"bufio"
	"bytes"
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
)

// BenchmarkPart measures the toolchain part of the local GOROOT as the
// generator writes it (best level, LongWindow): its size for this
// platform, then what Install costs: extraction time and the process's
// peak resident memory during it (Linux only). Run it with
//
//	go test -run '^$' -bench Part -benchtime 1x ./toolchain/
//
// The src-only sub-benchmarks give the size of SourceFiles for other
// platforms (their pkg/tool binaries are not in the local GOROOT; they add
// about 10 MB compressed on linux/amd64).
func BenchmarkPart(b *testing.B) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("no go command: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	host := runtime.GOOS + "/" + runtime.GOARCH
	b.Run("full="+strings.ReplaceAll(host, "/", "_"), func(b *testing.B) {
		entries, err := Files(goroot, runtime.GOOS, runtime.GOARCH, false)
		if err != nil {
			b.Skip(err)
		}
		for b.Loop() {
			measurePart(b, entries, true)
		}
	})
	b.Run("full-window8MiB="+strings.ReplaceAll(host, "/", "_"), func(b *testing.B) {
		entries, err := Files(goroot, runtime.GOOS, runtime.GOARCH, false)
		if err != nil {
			b.Skip(err)
		}
		for b.Loop() {
			writePart(b, entries, 0)
		}
	})
	for _, p := range []string{"linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"} {
		goos, goarch, _ := strings.Cut(p, "/")
		b.Run("src="+goos+"_"+goarch, func(b *testing.B) {
			entries, err := SourceFiles(goroot, goos, goarch)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				writePart(b, entries, bundle.LongWindow)
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
	part, err := bundle.WriteArchiveWindow(f, entries, bundle.LevelBest, window)
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

func measurePart(b *testing.B, entries []bundle.Entry, extract bool) {
	name, part := writePart(b, entries, bundle.LongWindow)
	runtime.GC()
	base := resetPeakRSS()
	start := time.Now()
	if _, err := Install(func() (io.ReadCloser, error) { return os.Open(name) }, part, b.TempDir()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "extract-s")
	if peak := peakRSS(); peak > 0 && base > 0 {
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(peak-base)/(1<<20), "extract-RSS-MiB")
	}
}

// resetPeakRSS resets the kernel's high-water mark of this process's
// resident memory (Linux) and returns the current resident size in bytes,
// 0 where that is not available.
func resetPeakRSS() int64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0
	}
	return procStatus("VmRSS:")
}

func peakRSS() int64 { return procStatus("VmHWM:") }

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
