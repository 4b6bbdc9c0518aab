package selfcompile

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressView writes Options.Progress. On a terminal it keeps a live
// line for the running stage, redrawn in place with its elapsed time and,
// while the go command compiles, how many packages it compiled out of how
// many; each stage ends with a line of its own. Elsewhere (a file, a
// pipe) it writes only the lines, one per stage as it ends, and the
// warnings and drift as they come. It is safe for concurrent use: the
// live line is redrawn from a ticker.
type progressView struct {
	mu   sync.Mutex
	w    io.Writer
	live bool

	stage       Stage // the stage running; "" between stages
	start       time.Time
	done, total int       // packages, once the stage reports them
	drawn       time.Time // when the live line was last drawn
	width       int       // of the live line on screen; 0 when none is
	// steps are the stages a run goes through, in order, for the live
	// line's "[N/M]"; nil shows no step.
	steps []Stage
	// waited is how many packages the go build compiled while verify
	// waited for them: the build stage's count goes on from there.
	waited int
	// counted and countedFrom are when the stage's first package count
	// came and what it was, for the estimate of what is left.
	counted     time.Time
	countedFrom int
}

// estimateAfter and estimateFrom are how long a stage's count must have
// run, and how many packages it must have seen compiled, before the live
// line estimates the time left: early rates mislead.
const (
	estimateAfter = 3 * time.Second
	estimateFrom  = 3
)

// runSteps are the stages of a run, and of a dry run.
var (
	runSteps    = []Stage{StagePrepare, StageToolchain, StageSource, StageModgen, StageVerify, StageBuild, StageSmoke, StageSwap, StageCleanup}
	dryRunSteps = []Stage{StagePrepare, StageToolchain, StageSource, StageModgen, StageVerify, StageCleanup}
)

// redrawEvery is how often the live line's elapsed time moves, and how
// often package counts may redraw it.
const redrawEvery = 100 * time.Millisecond

func newProgressView(w io.Writer, dryRun bool) *progressView {
	steps := runSteps
	if dryRun {
		steps = dryRunSteps
	}
	return &progressView{w: w, live: isTerminal(w), steps: steps}
}

// isTerminal reports whether w is a terminal (a character device that
// answers a terminal's control call).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && terminal(f.Fd())
}

// event shows e, which happened at now.
func (v *progressView) event(e Event, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e.Kind {
	case StageStarted:
		v.stage, v.start, v.done, v.total = e.Stage, now, 0, 0
		v.counted = time.Time{}
		v.draw(now)
	case StageProgress:
		if e.Stage != v.stage {
			return
		}
		v.done, v.total = e.Done, max(e.Total, e.Done)
		if v.counted.IsZero() {
			v.counted, v.countedFrom = now, e.Done
		}
		if now.Sub(v.drawn) >= redrawEvery || v.done == v.total {
			v.draw(now)
		}
	case StageDone, StageFailed:
		what := "done in"
		if e.Kind == StageFailed {
			what = "FAILED after"
		}
		compiled := ""
		if e.Stage == v.stage && v.done > 0 {
			compiled = v.compiled(e.Stage)
		}
		v.line(fmt.Sprintf("selfcompile: %-9s %s %v%s", e.Stage, what, e.Duration.Round(time.Millisecond), compiled))
		if e.Stage == v.stage {
			v.stage = ""
		}
	case WarningRaised:
		v.line("selfcompile: warning: " + e.Message)
		v.draw(now)
	case StoreUsed:
		v.line("selfcompile: store: " + e.Message + " in " + e.Duration.Round(time.Millisecond).String())
		v.draw(now)
	case DriftFound:
		if e.Drift != nil {
			v.line("selfcompile: drift: " + e.Drift.String())
			v.draw(now)
		}
	case VulnFound:
		if e.Vuln != nil {
			v.line("selfcompile: vulnerability: " + e.Vuln.String())
			v.draw(now)
		}
	case ToolchainSwitched:
		if e.Toolchain != nil {
			v.line("selfcompile: toolchain " + e.Toolchain.String())
			v.draw(now)
		}
	}
}

// compiled says what the go build compiled in stage. The type-check of
// verify waits for the go build of the build stage to compile what it
// reads; the build stage's count includes those.
func (v *progressView) compiled(stage Stage) string {
	switch {
	case stage == StageVerify:
		v.waited = v.done
		return fmt.Sprintf(", waited for the go build to compile %d %s", v.done, plural(v.done, "package"))
	case stage == StageBuild && v.waited > 0:
		return fmt.Sprintf(", %d %s compiled, %d of them while verify waited", v.done, plural(v.done, "package"), v.waited)
	}
	return fmt.Sprintf(", %d %s compiled", v.done, plural(v.done, "package"))
}

// left is ", about D left": the packages not yet compiled at the rate of
// those compiled since the stage's first count; "" until that rate can be
// told (see estimateAfter).
func (v *progressView) left(now time.Time) string {
	took, n := now.Sub(v.counted), v.done-v.countedFrom
	if v.counted.IsZero() || took < estimateAfter || n < estimateFrom || v.done >= v.total {
		return ""
	}
	d := took * time.Duration(v.total-v.done) / time.Duration(n)
	if d < time.Minute {
		// To the nearest 5 seconds, and never "0s".
		return fmt.Sprintf(", about %ds left", max(5, int((d+2500*time.Millisecond)/(5*time.Second))*5))
	}
	halves := int((d + 15*time.Second) / (30 * time.Second))
	if halves%2 == 1 {
		return fmt.Sprintf(", about %dm30s left", halves/2)
	}
	return fmt.Sprintf(", about %dm left", halves/2)
}

// step is " [N/M]" for the running stage, or "".
func (v *progressView) step() string {
	for i, s := range v.steps {
		if s == v.stage {
			return fmt.Sprintf(" [%d/%d]", i+1, len(v.steps))
		}
	}
	return ""
}

// tick redraws the live line, for its elapsed time.
func (v *progressView) tick(now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.draw(now)
}

// ticking redraws the live line every redrawEvery until the returned
// function is called; it does nothing when there is no live line.
func (v *progressView) ticking() (stop func()) {
	if !v.live {
		return func() {}
	}
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				v.tick(now)
			case <-quit:
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
		v.mu.Lock()
		v.erase()
		v.mu.Unlock()
	}
}

// draw writes the live line of the running stage over the one on screen.
func (v *progressView) draw(now time.Time) {
	if !v.live || v.stage == "" {
		return
	}
	s := fmt.Sprintf("selfcompile: %-9s %.1fs%s", v.stage, now.Sub(v.start).Seconds(), v.step())
	if v.total > 0 {
		s += fmt.Sprintf("  compiling %d/%d packages", v.done, v.total)
		if v.stage == StageVerify {
			s += " for the type-check"
		}
		s += v.left(now)
	}
	v.overwrite(s)
	v.width = len(s)
	v.drawn = now
}

// line writes s as a line of its own, in place of the live line.
func (v *progressView) line(s string) {
	v.overwrite(s)
	fmt.Fprint(v.w, "\n")
	v.width = 0
}

// overwrite writes s from the start of the line, padded with spaces over
// what the live line had beyond it: a carriage return and spaces work on
// every terminal, with no escape sequence to enable.
func (v *progressView) overwrite(s string) {
	if v.width > 0 {
		s = "\r" + s + strings.Repeat(" ", max(0, v.width-len(s)))
	}
	fmt.Fprint(v.w, s)
}

// erase clears the live line, if one is on screen.
func (v *progressView) erase() {
	if v.width > 0 {
		fmt.Fprint(v.w, "\r"+strings.Repeat(" ", v.width)+"\r")
		v.width = 0
	}
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
