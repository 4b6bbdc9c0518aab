//go:build e2e && unix

package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRestartWithoutDroppingConnections: example/webhost serves on
// 127.0.0.1 while `webhost plugins add` rebuilds it, swaps, and (its
// plugincmd.Config.AfterSwap) has the server hand its listening socket
// to the new binary (tableflip). Two clients request all along, one
// over kept-alive connections, one over a new connection per request:
// no request fails, the new process (another pid) serves the new
// plugin, and the old process drains and exits 0.
func TestRestartWithoutDroppingConnections(t *testing.T) {
	bin := buildWebhost(t)
	dir := t.TempDir()
	pidFile, addrFile := filepath.Join(dir, "webhost.pid"), filepath.Join(dir, "webhost.addr")
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// A file, not a pipe: the new process inherits it, and Wait must not
	// wait for the new process to close it.
	srv := exec.Command(bin, "serve", "-addr", "127.0.0.1:0", "-pidfile", pidFile, "-addrfile", addrFile)
	srv.Env, srv.Stdout, srv.Stderr = env(), logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() { stopServer(t, pidFile, srv, filepath.Join(dir, "serve.log")) })
	addr := waitForFile(t, addrFile)

	load := startLoad("http://"+addr+"/", "aplugin")
	run(t, true, "", env("WEBHOST_PIDFILE="+pidFile), bin, "plugins", "add", "example.com/aplugin@v1.0.0")
	stats := load.stopAfterNew(20, 30*time.Second)

	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the old server: %v, want exit 0 after draining", err)
		}
	case <-time.After(time.Minute):
		t.Errorf("the old server (pid %d) still runs a minute after the hand-over", srv.Process.Pid)
	}
	for _, c := range stats {
		t.Logf("%s: %d requests, %d failed, pids %v", c.name, c.requests, c.failed, c.pids)
		if c.failed > 0 {
			t.Errorf("%s: %d of %d requests failed; first: %v", c.name, c.failed, c.requests, c.firstErr)
		}
		if c.newPID == 0 {
			t.Errorf("%s: no answer named the new plugin", c.name)
		} else if c.newPID == srv.Process.Pid || len(c.pids) < 2 {
			t.Errorf("%s: answered by pids %v, the new plugin by %d; want the old server (%d) then another", c.name, c.pids, c.newPID, srv.Process.Pid)
		}
	}
}

// buildWebhost builds example/webhost, in the suite's copy of this
// repository, with its bundle: its modules from the module cache, the
// test's from the suite's proxy.
func buildWebhost(t *testing.T) string {
	t.Helper()
	exampleBinary(t) // the repository copy
	dir := filepath.Join(shared.repo, "example", "webhost")
	check := exec.Command("go", "mod", "download")
	check.Dir, check.Env = dir, append(hostGoEnv(), "GOPROXY=off")
	if out, err := check.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("example/webhost's modules (github.com/cloudflare/tableflip) are not in the module cache, and the tests use no network: run `go mod download` in example/webhost (.ci/run builds it first): %s", out)
		if os.Getenv("SELFCOMPILE_REQUIRE_WEBHOST") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// The example's go.mod names the go-selfcompile requirements of its
	// day; take this repository's, keeping the example's own sums.
	own, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	inheritRequirements(t, shared.repo, dir)
	f, err := os.OpenFile(filepath.Join(dir, "go.sum"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(own)
	f.Close()
	hostEnv := append(hostGoEnv(), "GOFLAGS=-mod=mod", "GOPROXY="+shared.proxyURL+",off", "GONOSUMDB=example.com")
	run(t, true, dir, hostEnv, "go", "generate")
	bin := filepath.Join(t.TempDir(), "webhost")
	run(t, true, dir, hostEnv, "go", "build", "-o", bin, ".")
	return bin
}

// waitForFile waits for name to exist and returns its contents.
func waitForFile(t *testing.T, name string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(name); err == nil && len(data) > 0 {
			return string(data)
		}
	}
	t.Fatalf("%s did not appear in 30s", name)
	return ""
}

// stopServer stops whichever process the pid file names (the new server,
// which is not this test's child) and the one the test started, and logs
// what they printed.
func stopServer(t *testing.T, pidFile string, srv *exec.Cmd, log string) {
	if data, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if _, err := os.Stat(pidFile); err != nil { // removed as it exits
					break
				}
			}
		}
	}
	srv.Process.Kill()
	out, _ := os.ReadFile(log)
	t.Logf("the servers' log:\n%s", out)
}

// load is requests in a loop from two clients: one keeps its
// connections alive, the other opens one per request.
type load struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	clients []*client
}

// client is one requester and what it saw.
type client struct {
	name     string
	http     *http.Client
	url      string
	mu       sync.Mutex
	requests int
	failed   int
	firstErr error
	pids     []int  // the pids that answered, in order, each once
	newPID   int    // the first pid whose answer named the new plugin
	afterNew int    // answers since then
	want     string // the new plugin
}

var answerRE = regexp.MustCompile(`^plugins: \[(.*)\] pid: (\d+)\n$`)

// startLoad starts the clients on url; each notes the first answer that
// names plugin.
func startLoad(url, plugin string) *load {
	l := &load{stop: make(chan struct{})}
	for _, c := range []*client{
		{name: "kept-alive client", http: &http.Client{Timeout: 30 * time.Second}},
		{name: "new-connection client", http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}},
	} {
		c.url, c.want = url, plugin
		l.clients = append(l.clients, c)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				c.once()
			}
		}()
	}
	return l
}

// once makes one request and records it.
func (c *client) once() {
	body, err := c.get()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	m := answerRE.FindStringSubmatch(body)
	if err == nil && m == nil {
		err = fmt.Errorf("answer %q", body)
	}
	if err != nil {
		if c.failed++; c.firstErr == nil {
			c.firstErr = err
		}
		return
	}
	pid, _ := strconv.Atoi(m[2])
	if len(c.pids) == 0 || c.pids[len(c.pids)-1] != pid {
		c.pids = append(c.pids, pid)
	}
	switch {
	case c.newPID != 0:
		c.afterNew++
	case strings.Contains(" "+m[1]+" ", " "+c.want+" "):
		c.newPID = pid
	}
}

func (c *client) get() (string, error) {
	resp, err := c.http.Get(c.url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return string(data), err
}

// stopAfterNew waits until every client has had tail answers after the
// first that named its plugin (or limit passes), stops them, and returns
// them.
func (l *load) stopAfterNew(tail int, limit time.Duration) []*client {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		done := true
		for _, c := range l.clients {
			c.mu.Lock()
			done = done && c.afterNew >= tail
			c.mu.Unlock()
		}
		if done {
			break
		}
	}
	close(l.stop)
	l.wg.Wait()
	return l.clients
}
