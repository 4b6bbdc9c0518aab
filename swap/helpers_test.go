//go:build unix

package swap

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executes itself as a helper process: GO_SELFCOMPILE_HELPER
// names the helper, the other variables are its arguments.
const (
	envHelper    = "GO_SELFCOMPILE_HELPER"
	envFailpoint = "GO_SELFCOMPILE_FAILPOINT" // the step at which "crash" kills itself
	envTarget    = "GO_SELFCOMPILE_TARGET"
	envSrc       = "GO_SELFCOMPILE_SRC" // a file, or for "swapper" a list separated by os.PathListSeparator
	envNoLink    = "GO_SELFCOMPILE_NOLINK"
	envUmask     = "GO_SELFCOMPILE_UMASK"
	envNewTarget = "GO_SELFCOMPILE_NEWTARGET"
	envLog       = "GO_SELFCOMPILE_LOG"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(envHelper); name != "" {
		if err := helpers[name](); err != nil {
			fmt.Fprintln(os.Stderr, "helper", name+":", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var helpers = map[string]func() error{
	"crash":    helperCrash,
	"holdlock": helperHoldLock,
	"swapper":  helperSwapper,
	"umask":    helperUmask,
	"twice":    helperTwice,
}

// helperCmd returns a command that runs the named helper with env.
func helperCmd(t *testing.T, name string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), append([]string{envHelper + "=" + name}, env...)...)
	return cmd
}

// helperCrash does what a rebuild does (lock, recover, install with three
// backups) and kills itself with SIGKILL at file-system step
// $GO_SELFCOMPILE_FAILPOINT. It prints "completed" if it never got there.
func helperCrash() error {
	n, err := strconv.Atoi(os.Getenv(envFailpoint))
	if err != nil {
		return err
	}
	target := os.Getenv(envTarget)
	unlock, err := Lock(context.Background(), target, true)
	if err != nil {
		return err
	}
	if _, err := Recover(target); err != nil {
		return err
	}
	ffs := &faultFS{FS: baseFS(os.Getenv(envNoLink) != ""), at: n, kill: true}
	if _, err := Install(target, os.Getenv(envSrc), Options{Backups: 3, FS: ffs}); err != nil {
		return err
	}
	if err := unlock(); err != nil {
		return err
	}
	fmt.Println("completed")
	return nil
}

// helperHoldLock takes the lock, says "locked", and releases it when its
// stdin is closed.
func helperHoldLock() error {
	unlock, err := Lock(context.Background(), os.Getenv(envTarget), true)
	if err != nil {
		return err
	}
	fmt.Println("locked")
	_, _ = os.Stdin.Read(make([]byte, 1)) // returns at EOF
	return unlock()
}

// helperSwapper installs each file of $GO_SELFCOMPILE_SRC in turn, each
// under the lock after Recover, as a rebuild does, and logs the start and
// end of each critical section to $GO_SELFCOMPILE_LOG.
func helperSwapper() error {
	target := os.Getenv(envTarget)
	log, err := os.OpenFile(os.Getenv(envLog), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer log.Close()
	for _, src := range filepath.SplitList(os.Getenv(envSrc)) {
		if err := lockedInstall(target, src, func(s string) error {
			_, err := fmt.Fprintf(log, "%s %d\n", s, os.Getpid())
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// lockedInstall is one rebuild's swap: lock, recover, install, unlock;
// mark is called on entering and leaving the critical section.
func lockedInstall(target, src string, mark func(string) error) error {
	unlock, err := Lock(context.Background(), target, true)
	if err != nil {
		return err
	}
	err = mark("start")
	if err == nil {
		_, err = Recover(target)
	}
	if err == nil {
		_, err = Install(target, src, Options{Backups: 2})
	}
	if err == nil {
		err = mark("end")
	}
	if uerr := unlock(); err == nil {
		err = uerr
	}
	return err
}

// helperUmask sets the umask, then replaces $GO_SELFCOMPILE_TARGET (its
// backup made by copy) and creates $GO_SELFCOMPILE_NEWTARGET with mode 0755.
func helperUmask() error {
	mask, err := strconv.ParseUint(os.Getenv(envUmask), 8, 32)
	if err != nil {
		return err
	}
	syscall.Umask(int(mask))
	src := os.Getenv(envSrc)
	if _, err := Install(os.Getenv(envTarget), src, Options{FS: noLinkFS{OS{}}}); err != nil {
		return err
	}
	_, err = Install(os.Getenv(envNewTarget), src, Options{Mode: 0o755})
	return err
}

// helperTwice runs from a copy of the test binary and replaces its own
// executable twice, resolving and checking it each time as a rebuild
// does. It prints the target it resolved each time.
func helperTwice() error {
	for _, src := range filepath.SplitList(os.Getenv(envSrc)) {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		target, err := ResolveTarget(exe)
		if err != nil {
			return err
		}
		if err := CheckRunning(target); err != nil {
			return err
		}
		if err := lockedInstall(target, src, func(string) error { return nil }); err != nil {
			return err
		}
		fmt.Println(target)
	}
	return nil
}

// faultFS counts the file-system steps made through it and, at step at,
// fails (before or after doing the step) or kills the process.
type faultFS struct {
	FS
	at    int   // the step that fails, from 1; 0 for none
	after bool  // do the step, then fail
	kill  bool  // SIGKILL the process at the step
	err   error // the error injected; nil means EIO

	mu    sync.Mutex
	steps int
	ops   []string // the steps made, e.g. "rename"
	hit   string   // the step that failed, e.g. "3 rename x y"
}

func (f *faultFS) step(op string, do func() error) error {
	f.mu.Lock()
	f.steps++
	n := f.steps
	f.ops = append(f.ops, strings.Fields(op)[0])
	f.mu.Unlock()
	if n != f.at {
		return do()
	}
	f.hit = fmt.Sprintf("%d %s", n, op)
	if f.kill {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute) // SIGKILL is on its way
		panic("not killed")
	}
	if f.after {
		if err := do(); err != nil {
			return err
		}
	}
	if f.err != nil {
		return f.err
	}
	return syscall.EIO
}

func (f *faultFS) CreateTemp(dir, pattern string) (File, error) {
	var file File
	err := f.step("create", func() (err error) {
		file, err = f.FS.CreateTemp(dir, pattern)
		return err
	})
	if err != nil {
		if file != nil {
			file.Close() // created, then failed: the file stays behind
		}
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Link(o, n string) error {
	return f.step("link", func() error { return f.FS.Link(o, n) })
}

func (f *faultFS) Rename(o, n string) error {
	return f.step("rename "+filepath.Base(o)+" "+filepath.Base(n), func() error { return f.FS.Rename(o, n) })
}

func (f *faultFS) Remove(name string) error {
	return f.step("remove "+filepath.Base(name), func() error { return f.FS.Remove(name) })
}

func (f *faultFS) SyncDir(dir string) error {
	return f.step("syncdir", func() error { return f.FS.SyncDir(dir) })
}

func (f *faultFS) FreeSpace(dir string) (n uint64, err error) {
	err = f.step("statfs", func() (err error) {
		n, err = f.FS.FreeSpace(dir)
		return err
	})
	return n, err
}

// faultFile is a File whose every operation is a step of its faultFS. It
// hides *os.File's ReadFrom, so io.Copy writes through Write.
type faultFile struct {
	File
	fs *faultFS
}

func (w *faultFile) Write(p []byte) (n int, err error) {
	err = w.fs.step("write", func() (err error) {
		n, err = w.File.Write(p)
		return err
	})
	return n, err
}

func (w *faultFile) Chown(uid, gid int) error {
	return w.fs.step("chown", func() error { return w.File.Chown(uid, gid) })
}

func (w *faultFile) Chmod(mode fs.FileMode) error {
	return w.fs.step("chmod", func() error { return w.File.Chmod(mode) })
}

func (w *faultFile) Sync() error { return w.fs.step("fsync", w.File.Sync) }

func (w *faultFile) Close() error { return w.fs.step("close", w.File.Close) }

// noLinkFS is a file system without hard links, so backups are copies.
type noLinkFS struct{ FS }

func (noLinkFS) Link(o, n string) error {
	return &os.LinkError{Op: "link", Old: o, New: n, Err: syscall.EPERM}
}

func baseFS(noLink bool) FS {
	if noLink {
		return noLinkFS{OS{}}
	}
	return OS{}
}

// fakeBinary is a small executable shell script that prints label; the
// padding makes a copy of it take two writes.
func fakeBinary(label string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "#!/bin/sh\necho %s\nexit 0\n", label)
	for b.Len() < 40<<10 {
		b.WriteString("# padding, so that copying this file takes more than one write\n")
	}
	return b.Bytes()
}

// writeFile writes data to name with exactly mode.
func writeFile(t *testing.T, name string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

// runLabel executes the binary at path and returns what it printed.
func runLabel(path string) (string, error) {
	out, err := exec.Command(path).Output()
	return strings.TrimSpace(string(out)), err
}

// fixture is a directory with a target "host" (mode 0751), backups of
// earlier versions, files that only look like ours, and a new version.
type fixture struct {
	dir, target, src string
	keep             int               // backups Install is asked to keep
	labels           map[string]string // content -> label of every version
	old, new         string            // labels of the target's and the new content
	others           map[string][]byte // files Recover must leave alone
}

const fixtureMode fs.FileMode = 0o751

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, target: filepath.Join(dir, "host"), keep: 3,
		labels: map[string]string{}, old: "v3", new: "v4", others: map[string][]byte{}}
	f.put(t, "host", "v3")
	f.put(t, "host"+BackupSuffix, "v2")
	f.put(t, "host"+BackupSuffix+".2", "v1")
	f.put(t, "host"+BackupSuffix+".3", "v0")
	f.put(t, "host"+BackupSuffix+".5", "vx") // beyond keep: rotated away
	for _, name := range []string{"host.bak", ".other.selfcompile-new-1", "other" + BackupSuffix + ".tmp-1",
		"host" + BackupSuffix + ".02", "host.selfcompile-new-1", "xhost" + BackupSuffix + ".tmp-1"} {
		f.others[name] = []byte("not ours: " + name)
		writeFile(t, filepath.Join(dir, name), f.others[name], 0o644)
	}
	f.src = filepath.Join(t.TempDir(), "new")
	f.labels[string(fakeBinary("v4"))] = "v4"
	writeFile(t, f.src, fakeBinary("v4"), 0o644) // the target's mode wins
	return f
}

func (f *fixture) put(t *testing.T, name, label string) {
	data := fakeBinary(label)
	f.labels[string(data)] = label
	writeFile(t, filepath.Join(f.dir, name), data, fixtureMode)
}

// check verifies the invariant: the target is one of the versions in want,
// complete (byte for byte), with its mode, and runs; every other file in
// the directory is a backup holding a complete known version, or one of
// the files that are not ours, unchanged.
func (f *fixture) check(t *testing.T, want ...string) {
	t.Helper()
	data, err := os.ReadFile(f.target)
	if err != nil {
		t.Fatalf("target: %v", err)
	}
	label, ok := f.labels[string(data)]
	if !ok || !slices.Contains(want, label) {
		t.Fatalf("target holds %q (%d bytes), want one of %v complete", label, len(data), want)
	}
	if fi, err := os.Stat(f.target); err != nil || fi.Mode() != fixtureMode {
		t.Fatalf("target mode: %v %v, want %v", fi.Mode(), err, fixtureMode)
	}
	if got, err := runLabel(f.target); err != nil || got != label {
		t.Fatalf("running the target: %q, %v; want %q", got, err, label)
	}
	f.checkOthers(t)
}

func (f *fixture) checkOthers(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		data, err := os.ReadFile(filepath.Join(f.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if want, ok := f.others[name]; ok {
			if !bytes.Equal(data, want) {
				t.Errorf("%s was changed", name)
			}
			continue
		}
		if name == "host" {
			continue
		}
		// A backup beyond keep is no stray: the failure may have come
		// before the rotation that drops it.
		if _, ok := backupIndex("host", name); !ok {
			t.Errorf("stray file %s", name)
			continue
		}
		if _, ok := f.labels[string(data)]; !ok {
			t.Errorf("backup %s holds no complete version (%d bytes)", name, len(data))
		}
	}
}

// backupLabels returns the labels of target's backups, newest first.
func (f *fixture) backupLabels(t *testing.T) []string {
	t.Helper()
	paths, err := Backups(f.target)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		labels = append(labels, f.labels[string(data)])
	}
	return labels
}
