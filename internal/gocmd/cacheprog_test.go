package gocmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// cacheProgEnv makes the test binary a GOCACHEPROG: a build cache kept in
// the directory it names, that logs each get and put to its log file.
const cacheProgEnv = "GOCMD_TEST_CACHEPROG"

func init() {
	if dir := os.Getenv(cacheProgEnv); dir != "" {
		if err := serveCache(dir); err != nil {
			fmt.Fprintln(os.Stderr, "cacheprog:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

type cacheRequest struct {
	ID       int64
	Command  string
	ActionID []byte `json:",omitempty"`
	OutputID []byte `json:",omitempty"`
	BodySize int64  `json:",omitempty"`
}

type cacheResponse struct {
	ID            int64
	Err           string     `json:",omitempty"`
	KnownCommands []string   `json:",omitempty"`
	Miss          bool       `json:",omitempty"`
	OutputID      []byte     `json:",omitempty"`
	Size          int64      `json:",omitempty"`
	Time          *time.Time `json:",omitempty"`
	DiskPath      string     `json:",omitempty"`
}

// serveCache speaks the GOCACHEPROG protocol (cmd/go/internal/cacheprog)
// on stdin and stdout.
func serveCache(dir string) error {
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(cacheResponse{KnownCommands: []string{"get", "put", "close"}}); err != nil {
		return err
	}
	in := json.NewDecoder(bufio.NewReader(os.Stdin))
	for {
		var req cacheRequest
		if err := in.Decode(&req); err != nil {
			return err
		}
		resp := cacheResponse{ID: req.ID}
		key := filepath.Join(dir, fmt.Sprintf("%x", req.ActionID))
		switch req.Command {
		case "put":
			var body []byte
			if req.BodySize > 0 {
				if err := in.Decode(&body); err != nil {
					return err
				}
			}
			if err := os.WriteFile(key+"-out", body, 0o644); err != nil {
				return err
			}
			meta, _ := json.Marshal(cacheResponse{OutputID: req.OutputID, Size: int64(len(body))})
			if err := os.WriteFile(key+"-meta", meta, 0o644); err != nil {
				return err
			}
			resp.DiskPath = key + "-out"
			fmt.Fprintln(logf, "put")
		case "get":
			meta, err := os.ReadFile(key + "-meta")
			if err != nil {
				resp.Miss = true
				fmt.Fprintln(logf, "miss")
				break
			}
			var m cacheResponse
			if err := json.Unmarshal(meta, &m); err != nil {
				return err
			}
			now := time.Now()
			resp.OutputID, resp.Size, resp.Time, resp.DiskPath = m.OutputID, m.Size, &now, key+"-out"
			fmt.Fprintln(logf, "hit")
		case "close":
			return out.Encode(resp)
		}
		if err := out.Encode(resp); err != nil {
			return err
		}
	}
}

var cacheLogMu sync.Mutex

func cacheLog(t *testing.T, dir string) map[string]int {
	t.Helper()
	cacheLogMu.Lock()
	defer cacheLogMu.Unlock()
	data, _ := os.ReadFile(filepath.Join(dir, "log"))
	n := map[string]int{}
	for _, l := range strings.Fields(string(data)) {
		n[l]++
	}
	return n
}

// TestGOCACHEPROGPassesThrough: a GOCACHEPROG in the user's environment
// reaches the go command, so that machines rebuilding one program can
// share a remote build cache through any backend.
func TestGOCACHEPROGPassesThrough(t *testing.T) {
	testkit.NeedGo(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cache, src := t.TempDir(), t.TempDir()
	for name, data := range map[string]string{
		"go.mod":  "module example.com/tiny\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() { println(\"tiny\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := append(Without(os.Environ(), "GOCACHEPROG", cacheProgEnv), "GOCACHEPROG="+exe, cacheProgEnv+"="+cache)
	r := &Runner{Base: base, Env: []string{"GOCACHE=" + t.TempDir(), "GOFLAGS=-mod=mod", "GOPROXY=off"}}
	build := func() {
		t.Helper()
		if _, err := r.Run(context.Background(), Invocation{Verb: "build", Args: []string{"-o", filepath.Join(t.TempDir(), "tiny"), "."}, WorkingDir: src}); err != nil {
			t.Fatal(err)
		}
	}
	build()
	first := cacheLog(t, cache)
	if first["put"] == 0 {
		t.Fatalf("the cache program saw no put: %v", first)
	}
	build()
	second := cacheLog(t, cache)
	if second["hit"] <= first["hit"] {
		t.Errorf("the second build got no hit from the cache program: first %v, then %v", first, second)
	}
}
