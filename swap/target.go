package swap

import (
	"fmt"
	"os"
	"path/filepath"
)

// ResolveTarget returns the real file behind path (symlinks followed, so a
// symlink to the executable stays a symlink) and checks that it is a
// regular file. Resolve once, at the start of a rebuild: after a swap,
// os.Executable can name the backup.
func ResolveTarget(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolving the executable %s: %w", path, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", notRegular(real, fi.Mode())
	}
	return real, nil
}

// procSelfExe names the running executable where procfs exists.
const procSelfExe = "/proc/self/exe"

// CheckRunning checks that target (as returned by ResolveTarget) is the
// file this process runs, by comparing it with /proc/self/exe; otherwise
// it returns an error wrapping ErrNotRunning. Where /proc/self/exe is
// unavailable (macOS, Windows, Linux without procfs) it cannot tell and
// returns nil. A process whose file was already replaced at target (an
// earlier Install from this process) passes too: the kernel then names its
// file "TARGET (deleted)".
func CheckRunning(target string) error {
	self, err := os.Stat(procSelfExe)
	if err != nil {
		return nil
	}
	if fi, err := os.Stat(target); err == nil && os.SameFile(self, fi) {
		return nil
	}
	link, err := os.Readlink(procSelfExe)
	if err == nil && link == target+" (deleted)" {
		return nil
	}
	return fmt.Errorf("%w: %s is not the file this process runs (%s); set Options.Output to write the new binary elsewhere", ErrNotRunning, target, link)
}
