//go:build e2e

package integration

import (
	"path/filepath"
	"testing"
)

// BenchmarkVulnCheck measures what the vulnerability check costs a warm
// rebuild of the example, against the test database (file://): a
// rebuild with the check off (GOVULNDB=off) beside one with it on, each
// moving example.com/aplugin to another version (one package compiled),
// and "plugins audit", which scans the binary alone (the helper
// unpacked, the binary read and matched, no build).
//
//	go test -tags e2e -run '^$' -bench VulnCheck -benchtime 1x ./integration/
func BenchmarkVulnCheck(b *testing.B) {
	abinary := exampleBinary(b)
	db := "GOVULNDB=file://" + filepath.ToSlash(mustAbs(b, "../testdata/vulndb"))
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		bin := filepath.Join(dir, "abinary")
		if err := copyFile(abinary, bin); err != nil {
			b.Fatal(err)
		}
		// Warm the caches for this program.
		run(b, true, dir, env(), bin, "--plugin", "example.com/aplugin@v1.3.0")
		off := timeIt(b, func() {
			run(b, true, dir, env("GOVULNDB=off"), bin, "--plugin", "example.com/aplugin@v1.2.0")
		})
		on := timeIt(b, func() {
			run(b, true, dir, env(db), bin, "--plugin", "example.com/aplugin@v1.0.0")
		})
		audit := timeIt(b, func() {
			if _, code := runCode(b, dir, env(db), bin, "plugins", "audit"); code != 3 {
				b.Fatalf("plugins audit exited %d, want 3", code)
			}
		})
		b.ReportMetric(off.Seconds(), "rebuild-off-s")
		b.ReportMetric(on.Seconds(), "rebuild-checked-s")
		b.ReportMetric(audit.Seconds(), "audit-s")
	}
}

func mustAbs(b testing.TB, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		b.Fatal(err)
	}
	return a
}
