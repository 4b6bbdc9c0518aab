package selfcompile

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// script is a verify and a build stage as a rebuild reports them, with a
// warning and drift between, at given offsets from t0.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type step struct {
	at   time.Duration
	e    Event
	tick bool // a tick of the live line's ticker instead of an event
}

var script = []step{
	{at: 0, e: Event{Kind: StageStarted, Stage: StageModgen}},
	{at: 200 * time.Millisecond, e: Event{Kind: DriftFound, Stage: StageModgen, Drift: &Drift{Module: "example.com/m", Old: "v1.0.0", New: "v1.1.0"}}},
	{at: 300 * time.Millisecond, e: Event{Kind: StageDone, Stage: StageModgen, Duration: 300 * time.Millisecond}},
	{at: 300 * time.Millisecond, e: Event{Kind: StageStarted, Stage: StageVerify}},
	{at: 1300 * time.Millisecond, tick: true},
	{at: 1350 * time.Millisecond, e: Event{Kind: StageProgress, Stage: StageVerify, Done: 0, Total: 96}},
	{at: 1400 * time.Millisecond, e: Event{Kind: StageProgress, Stage: StageVerify, Done: 1, Total: 96}}, // too soon: not drawn
	{at: 1500 * time.Millisecond, e: Event{Kind: GoCommandRan, Stage: StageVerify, Args: []string{"list"}}},
	{at: 2000 * time.Millisecond, e: Event{Kind: StageProgress, Stage: StageVerify, Done: 41, Total: 96}},
	{at: 2050 * time.Millisecond, e: Event{Kind: WarningRaised, Stage: StageVerify, Message: "careful"}},
	{at: 9000 * time.Millisecond, e: Event{Kind: StageProgress, Stage: StageVerify, Done: 96, Total: 96}},
	{at: 9100 * time.Millisecond, e: Event{Kind: StageDone, Stage: StageVerify, Duration: 8800 * time.Millisecond}},
	{at: 9100 * time.Millisecond, e: Event{Kind: StageStarted, Stage: StageBuild}},
	{at: 9300 * time.Millisecond, e: Event{Kind: StageProgress, Stage: StageBuild, Done: 98, Total: 99}},
	{at: 9600 * time.Millisecond, e: Event{Kind: StageFailed, Stage: StageBuild, Duration: 500 * time.Millisecond, Err: errors.New("no")}},
}

func play(v *progressView) {
	for _, s := range script {
		if s.tick {
			v.tick(t0.Add(s.at))
		} else {
			v.event(s.e, t0.Add(s.at))
		}
	}
}

// Not on a terminal: a line per stage as it ends, the packages it
// compiled, and warnings and drift as they come; nothing redrawn.
func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	v := &progressView{w: &out}
	play(v)
	want := `selfcompile: drift: example.com/m v1.0.0 -> v1.1.0
selfcompile: modgen    done in 300ms
selfcompile: warning: careful
selfcompile: verify    done in 8.8s, waited for the go build to compile 96 packages
selfcompile: build     FAILED after 500ms, 98 packages compiled, 96 of them while verify waited
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// On a terminal: the live line of the running stage, redrawn in place
// with its elapsed time and package count, and what the screen shows
// once it is done: the same lines as without a terminal.
func TestProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	v := &progressView{w: &out, live: true, steps: runSteps}
	play(v)
	lines := strings.SplitAfter(out.String(), "\n")
	want := []string{
		// modgen starts; the drift line replaces the live line, which is drawn again below it.
		"selfcompile: modgen    0.0s [4/9]\rselfcompile: drift: example.com/m v1.0.0 -> v1.1.0\n",
		"selfcompile: modgen    0.2s [4/9]\rselfcompile: modgen    done in 300ms\n",
		// verify: started, ticked, counted (0/96 came too soon after the
		// tick to draw), a warning padded over the 78 characters of the
		// live line, the end.
		"selfcompile: verify    0.0s [5/9]" +
			"\rselfcompile: verify    1.0s [5/9]" +
			"\rselfcompile: verify    1.1s [5/9]  compiling 1/96 packages for the type-check" +
			"\rselfcompile: verify    1.7s [5/9]  compiling 41/96 packages for the type-check" +
			"\rselfcompile: warning: careful" + strings.Repeat(" ", 78-29) + "\n",
		"selfcompile: verify    1.8s [5/9]  compiling 41/96 packages for the type-check" +
			"\rselfcompile: verify    8.7s [5/9]  compiling 96/96 packages for the type-check" +
			"\rselfcompile: verify    done in 8.8s, waited for the go build to compile 96 packages\n",
		"selfcompile: build     0.0s [6/9]" +
			"\rselfcompile: build     0.2s [6/9]  compiling 98/99 packages" +
			"\rselfcompile: build     FAILED after 500ms, 98 packages compiled, 96 of them while verify waited\n",
		"",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%q", len(lines), len(want), lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\ngot  %q\nwant %q", i, lines[i], want[i])
		}
	}
	// What a terminal shows: each \r returns to the start of the line.
	var screen []string
	for _, l := range lines[:len(lines)-1] {
		parts := strings.Split(strings.TrimSuffix(l, "\n"), "\r")
		screen = append(screen, strings.TrimRight(parts[len(parts)-1], " "))
	}
	var plain bytes.Buffer
	play(&progressView{w: &plain})
	if got := strings.Join(screen, "\n") + "\n"; got != plain.String() {
		t.Errorf("the screen shows\n%s\nwant what plain output says\n%s", got, plain.String())
	}
}

// The ticker redraws the live line until stopped, then erases it; a
// writer that is not a terminal gets no live line and no ticker.
func TestProgressTicking(t *testing.T) {
	var out lockedBuffer
	v := &progressView{w: &out, live: true}
	v.event(Event{Kind: StageStarted, Stage: StageBuild}, time.Now())
	stop := v.ticking()
	time.Sleep(3 * redrawEvery)
	stop()
	s := out.String()
	if strings.Count(s, "\rselfcompile: build ") < 1 || !strings.HasSuffix(s, "\r") {
		t.Errorf("output %q, want the live line redrawn, then erased", s)
	}
	if newProgressView(&out, false).live {
		t.Error("a buffer is taken for a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "progress")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is taken for a terminal")
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The live line estimates the time left from the rate since the stage's
// first count, once that rate can be told.
func TestProgressEstimate(t *testing.T) {
	for _, c := range []struct {
		at         time.Duration
		done, tot  int
		wantSuffix string
	}{
		{2 * time.Second, 20, 100, "compiling 20/100 packages"},                    // too soon
		{10 * time.Second, 50, 100, "compiling 50/100 packages, about 10s left"},   // 5 a second
		{10 * time.Second, 10, 100, "compiling 10/100 packages, about 1m30s left"}, // 1 a second
		{10 * time.Second, 5, 100, "compiling 5/100 packages, about 3m left"},      // 0.5 a second: 190s
		{10 * time.Second, 99, 100, "compiling 99/100 packages, about 5s left"},
		{10 * time.Second, 100, 100, "compiling 100/100 packages"},
	} {
		var out bytes.Buffer
		v := &progressView{w: &out, live: true}
		v.event(Event{Kind: StageStarted, Stage: StageBuild}, t0)
		v.event(Event{Kind: StageProgress, Stage: StageBuild, Done: 0, Total: c.tot}, t0)
		v.event(Event{Kind: StageProgress, Stage: StageBuild, Done: c.done, Total: c.tot}, t0.Add(c.at))
		screen := out.String()[strings.LastIndex(out.String(), "\r")+1:]
		if !strings.HasSuffix(strings.TrimRight(screen, " "), c.wantSuffix) {
			t.Errorf("%d/%d after %v: live line %q, want it to end %q", c.done, c.tot, c.at, screen, c.wantSuffix)
		}
	}
}
