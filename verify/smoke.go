package verify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// SmokeEnv is the environment variable that puts a binary in smoke mode.
const SmokeEnv = "GO_SELFCOMPILE_SMOKE"

// SmokeReport is the JSON line a binary in smoke mode writes to stdout.
type SmokeReport struct {
	Nonce      string        `json:"go_selfcompile_smoke"`
	GoVersion  string        `json:"go_version,omitempty"`
	Plugins    []SmokePlugin `json:"plugins"`
	Registered []string      `json:"registered,omitempty"`
}

// SmokePlugin is one plugin as the smoke report lists it.
type SmokePlugin struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
}

// SmokeConfig configures Smoke.
type SmokeConfig struct {
	// Env is the environment of the binary; SmokeEnv is added.
	Env []string
	// Timeout bounds the run. Zero means 30 seconds.
	Timeout time.Duration
	// Want lists the plugins the binary must report, at these versions
	// (an empty version is not compared).
	Want []SmokePlugin
}

// SmokeError is a binary that failed the smoke test.
type SmokeError struct {
	Binary string
	Msg    string
	Output string // tail of what the binary printed
}

func (e *SmokeError) Error() string {
	msg := "smoke test of the new binary failed: " + e.Msg
	if e.Output != "" {
		msg += "; it printed:\n" + e.Output
	}
	return msg
}

const outputTail = 2 << 10

// Smoke starts binary in smoke mode and checks its report.
func Smoke(ctx context.Context, binary string, cfg SmokeConfig) (*SmokeReport, error) {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nonce := newNonce()
	cmd := exec.CommandContext(ctx, binary)
	cmd.Env = append(append([]string(nil), cfg.Env...), SmokeEnv+"="+nonce)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	fail := func(msg string) error {
		return &SmokeError{Binary: binary, Msg: msg, Output: tail(out.String())}
	}
	if ctx.Err() == context.DeadlineExceeded {
		return nil, fail(fmt.Sprintf("it did not exit within %v; a plugin's init may block", timeout))
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fail(fmt.Sprintf("it exited with %v before reporting; a plugin's init may panic or exit", ee.ProcessState))
		}
		return nil, fail(err.Error())
	}
	rep, err := findReport(out.Bytes(), nonce)
	if err != nil {
		return nil, fail(err.Error())
	}
	got := map[string]string{}
	for _, p := range rep.Plugins {
		got[p.Path] = p.Version
	}
	for _, w := range cfg.Want {
		v, ok := got[w.Path]
		if !ok {
			return nil, fail(fmt.Sprintf("plugin %s is not linked into it", w.Path))
		}
		if w.Version != "" && v != w.Version {
			return nil, fail(fmt.Sprintf("plugin %s is at %s, want %s", w.Path, v, w.Version))
		}
	}
	return rep, nil
}

func findReport(out []byte, nonce string) (*SmokeReport, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(nonce)) {
			continue
		}
		var rep SmokeReport
		if err := json.Unmarshal(line, &rep); err != nil || rep.Nonce != nonce {
			return nil, fmt.Errorf("its report line is not valid: %v", err)
		}
		return &rep, nil
	}
	return nil, errors.New("it exited 0 without the smoke report; was it built with the go-selfcompile bundle?")
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > outputTail {
		s = "..." + s[len(s)-outputTail:]
	}
	return s
}
