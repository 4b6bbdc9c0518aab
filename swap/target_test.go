//go:build unix

package swap

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCheckRunning: the test binary is running, a copy of it is not.
func TestCheckRunning(t *testing.T) {
	if _, err := os.Stat(procSelfExe); err != nil {
		t.Skip("no /proc/self/exe: ", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, err := ResolveTarget(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckRunning(self); err != nil {
		t.Errorf("CheckRunning(self): %v", err)
	}
	other := filepath.Join(t.TempDir(), "copy")
	copyExe(t, self, other)
	if err := CheckRunning(other); !errors.Is(err, ErrNotRunning) {
		t.Errorf("CheckRunning(copy): %v, want ErrNotRunning", err)
	}
}

func copyExe(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, data, 0o755)
}

// TestTwoUpdatesFromOneProcess: a copy of the test binary replaces its own
// executable twice; the second time it still resolves the same target and
// passes CheckRunning, though it runs a file no longer at that path. The
// two backups are the first update and the original binary.
func TestTwoUpdatesFromOneProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(dir, "host")
	copyExe(t, exe, host)
	f := &fixture{dir: dir, target: host, keep: 2, labels: map[string]string{}, others: map[string][]byte{}}
	var srcs []string
	for _, label := range []string{"v1", "v2"} {
		p := filepath.Join(t.TempDir(), label)
		writeFile(t, p, fakeBinary(label), 0o644)
		f.labels[string(fakeBinary(label))] = label
		srcs = append(srcs, p)
	}
	cmd := helperCmd(t, "twice", envSrc+"="+strings.Join(srcs, string(os.PathListSeparator)))
	cmd.Path = host
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); !slices.Equal(got, []string{host, host}) {
		t.Errorf("targets resolved: %q, want %s twice", got, host)
	}
	if fi, err := os.Stat(host); err != nil || fi.Mode() != 0o755 {
		t.Fatalf("target: %v %v", fi.Mode(), err)
	}
	if got, err := runLabel(host); got != "v2" || err != nil {
		t.Errorf("target runs %q, %v; want v2", got, err)
	}
	exeData, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	f.labels[string(exeData)] = "test binary"
	if got, want := f.backupLabels(t), []string{"v1", "test binary"}; !slices.Equal(got, want) {
		t.Errorf("backups %q, want %q", got, want)
	}
}
