//go:build unix

package swap

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// execLoop executes target over and over, from workers goroutines, until
// stop is closed, and records every run that failed (a missing file,
// "text file busy") or printed no known version.
type execLoop struct {
	runs    atomic.Int64
	mu      sync.Mutex
	failure []string
	wg      sync.WaitGroup
	started chan struct{}
}

func startExecLoop(target string, labels map[string]bool, workers int, stop <-chan struct{}) *execLoop {
	l := &execLoop{started: make(chan struct{})}
	var once sync.Once
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := runLabel(target)
				if err != nil || !labels[got] {
					l.mu.Lock()
					l.failure = append(l.failure, fmt.Sprintf("%q: %v", got, err))
					l.mu.Unlock()
				}
				l.runs.Add(1)
				once.Do(func() { close(l.started) })
			}
		})
	}
	return l
}

// concurrentFixture is a target with version v0 and, for each of swappers,
// count versions to install.
func concurrentFixture(t *testing.T, swappers, count int) (f *fixture, srcs [][]string, labels map[string]bool) {
	f = &fixture{dir: t.TempDir(), keep: 2, labels: map[string]string{}, others: map[string][]byte{}}
	f.target = filepath.Join(f.dir, "host")
	f.put(t, "host", "v0")
	labels = map[string]bool{"v0": true}
	srcDir := t.TempDir()
	srcs = make([][]string, swappers)
	for i := range swappers {
		for k := range count {
			label := fmt.Sprintf("s%d-%d", i, k)
			p := filepath.Join(srcDir, label)
			writeFile(t, p, fakeBinary(label), 0o644)
			f.labels[string(fakeBinary(label))] = label
			labels[label] = true
			srcs[i] = append(srcs[i], p)
		}
	}
	return f, srcs, labels
}

// TestConcurrentSwapsProcesses runs rebuild swaps (lock, recover, install,
// unlock) from several processes at once while two goroutines keep
// executing the target: no run may fail, no two swaps may overlap, and
// the directory ends in the invariant state.
func TestConcurrentSwapsProcesses(t *testing.T) {
	const swappers, count = 3, 6
	f, srcs, labels := concurrentFixture(t, swappers, count)
	logName := filepath.Join(t.TempDir(), "log")
	writeFile(t, logName, nil, 0o600)

	stop := make(chan struct{})
	loop := startExecLoop(f.target, labels, 2, stop)
	<-loop.started
	var wg sync.WaitGroup
	for i := range swappers {
		cmd := helperCmd(t, "swapper", envTarget+"="+f.target, envLog+"="+logName,
			envSrc+"="+strings.Join(srcs[i], string(os.PathListSeparator)))
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("swapper: %v\n%s", err, out)
			}
		})
	}
	wg.Wait()
	close(stop)
	loop.wg.Wait()

	swaps := checkSerialLog(t, logName)
	if swaps != swappers*count {
		t.Errorf("%d swaps logged, want %d", swaps, swappers*count)
	}
	for _, fail := range loop.failure {
		t.Errorf("executing the target during the swaps: %s", fail)
	}
	f.check(t, keys(labels)...)
	if _, err := os.Lstat(LockPath(f.target)); !os.IsNotExist(err) {
		t.Errorf("lock file left: %v", err)
	}
	t.Logf("concurrent processes: %d swaps by %d processes, %d runs of the target, %d failed", swaps, swappers, loop.runs.Load(), len(loop.failure))
}

// checkSerialLog checks that the critical sections in the log never
// overlap, and returns how many there were.
func checkSerialLog(t *testing.T, name string) int {
	t.Helper()
	file, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	n, inside := 0, ""
	for sc := bufio.NewScanner(file); sc.Scan(); {
		what, pid, _ := strings.Cut(sc.Text(), " ")
		switch {
		case what == "start" && inside == "":
			inside = pid
		case what == "end" && inside == pid:
			inside = ""
			n++
		default:
			t.Fatalf("overlapping swaps: %q while %q was inside", sc.Text(), inside)
		}
	}
	return n
}

// TestConcurrentSwapsGoroutines is TestConcurrentSwapsProcesses with the
// swaps made by goroutines of this process, which forks to execute the
// target while staged files are open: a forked child holding a staged
// file's descriptor would make the exec fail with "text file busy".
func TestConcurrentSwapsGoroutines(t *testing.T) {
	const swappers, count = 3, 12
	f, srcs, labels := concurrentFixture(t, swappers, count)
	stop := make(chan struct{})
	loop := startExecLoop(f.target, labels, 2, stop)
	<-loop.started
	var inside, swaps atomic.Int32
	var wg sync.WaitGroup
	for i := range swappers {
		wg.Go(func() {
			for _, src := range srcs[i] {
				err := lockedInstall(f.target, src, func(s string) error {
					if s == "start" && inside.Add(1) != 1 || s == "end" && inside.Add(-1) != 0 {
						return errors.New("overlapping swaps")
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				swaps.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	loop.wg.Wait()
	for _, fail := range loop.failure {
		t.Errorf("executing the target during the swaps: %s", fail)
	}
	if swaps.Load() != swappers*count {
		t.Errorf("%d swaps, want %d", swaps.Load(), swappers*count)
	}
	f.check(t, keys(labels)...)
	t.Logf("concurrent goroutines: %d swaps by %d goroutines, %d runs of the target, %d failed", swaps.Load(), swappers, loop.runs.Load(), len(loop.failure))
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
