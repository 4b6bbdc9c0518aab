package toolchain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/tcache"
)

// An installed toolchain altered afterwards is found at its next use and
// extracted again, whatever the alteration: content appended, a file added
// to a standard package, a file removed, content changed with its size and
// modification time put back.
func TestInstallReplacesAlteredInstall(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		alter      func(t *testing.T, goroot string)
	}{
		{"appended", "src/fmt/print.go changed", func(t *testing.T, goroot string) {
			write(t, filepath.Join(goroot, "src/fmt/print.go"), "src/fmt/print.go\nfunc init() { panic(1) }\n")
		}},
		{"added", "src/fmt/evil.go was added", func(t *testing.T, goroot string) {
			write(t, filepath.Join(goroot, "src/fmt/evil.go"), "package fmt\n")
		}},
		{"removed", "VERSION is missing", func(t *testing.T, goroot string) {
			if err := os.Remove(filepath.Join(goroot, "VERSION")); err != nil {
				t.Fatal(err)
			}
		}},
		{"same size and time", "src/fmt/print.go changed", func(t *testing.T, goroot string) {
			p := filepath.Join(goroot, "src/fmt/print.go")
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			write(t, p, strings.ToUpper("src/fmt/print.go"))
			if err := os.Chtimes(p, time.Time{}, fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, part := fakeToolchain(t)
			cache := t.TempDir()
			goroot, repaired, err := Install(opener(data), part, cache)
			if err != nil || repaired != "" {
				t.Fatalf("first Install: %q, %v", repaired, err)
			}
			if fi, err := os.Stat(filepath.Join(goroot, "src/fmt/print.go")); err != nil || fi.Mode().Perm()&0o222 != 0 {
				t.Errorf("installed file is writable or missing: %v, %v", fi.Mode(), err)
			}
			tc.alter(t, goroot)
			goroot, repaired, err = Install(opener(data), part, cache)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(repaired, tc.want) || !strings.Contains(repaired, "extracted it again") {
				t.Errorf("repaired = %q, want it to say %q", repaired, tc.want)
			}
			got, err := os.ReadFile(filepath.Join(goroot, "src/fmt/print.go"))
			if err != nil || string(got) != "src/fmt/print.go" {
				t.Errorf("after repair print.go = %q, %v", got, err)
			}
			if _, err := os.Stat(filepath.Join(goroot, "src/fmt/evil.go")); err == nil {
				t.Error("the added file survived the repair")
			}
			// Intact now: the next use repairs nothing.
			if _, repaired, err := Install(opener(data), part, cache); err != nil || repaired != "" {
				t.Errorf("third Install: %q, %v", repaired, err)
			}
		})
	}
}

// write replaces a read-only file's content, as someone with write access
// to the cache could.
func write(t *testing.T, name, data string) {
	t.Helper()
	os.Chmod(name, 0o644)
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(name, 0o444)
}

// Toolchains unused for StaleAfter go, the one in use and recent ones
// stay; a use marks a toolchain as recent.
func TestPrune(t *testing.T) {
	cache := t.TempDir()
	var goroots []string
	for i := 0; i < 3; i++ {
		sum := strings.Repeat(string(rune('a'+i)), 64)
		root := filepath.Join(cache, "toolchain", sum[:32])
		if err := os.MkdirAll(filepath.Join(root, "go"), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, tcache.CompleteMarker), sum)
		goroots = append(goroots, filepath.Join(root, "go"))
	}
	old := time.Now().Add(-2 * StaleAfter)
	for _, g := range goroots[:2] { // the first in use, the second stale, the third recent
		os.Chtimes(filepath.Join(filepath.Dir(g), tcache.CompleteMarker), old, old)
	}
	removed := Prune(cache, goroots[0], time.Now().Add(-StaleAfter))
	if len(removed) != 1 || removed[0] != filepath.Dir(goroots[1]) {
		t.Errorf("removed %v, want only %s", removed, filepath.Dir(goroots[1]))
	}
	for i, want := range []bool{true, false, true} {
		if _, err := os.Stat(goroots[i]); (err == nil) != want {
			t.Errorf("toolchain %d: exists=%v, want %v", i, err == nil, want)
		}
	}

	// Install marks the toolchain it returns as used now.
	data, part := fakeToolchain(t)
	goroot, _, err := Install(opener(data), part, cache)
	if err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(filepath.Dir(goroot), tcache.CompleteMarker), old, old)
	if _, _, err := Install(opener(data), part, cache); err != nil {
		t.Fatal(err)
	}
	if removed := Prune(cache, goroots[0], time.Now().Add(-StaleAfter)); len(removed) != 0 {
		t.Errorf("Prune removed %v, a toolchain used just now", removed)
	}
}
