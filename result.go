package selfcompile

import (
	"fmt"
	"time"

	"github.com/selfcompile/go-selfcompile/internal/srctree"
)

// What a Run records as it goes: the Result it fills from its own stages
// and the helper's outcome, and the events it passes on to the host.

// backups is how many backups the swap keeps: none when writing to
// Options.Output, a file of the caller's rather than an executable to
// roll back.
func (j *job) backups(n int) int {
	if !j.swapping {
		return -1
	}
	return n
}

// noteOutcome puts what the helper learned into the Result, also when it
// failed.
func (p *pipeline) noteOutcome(r *Result) {
	p.res.GoVersion, p.res.Added, p.res.Checks, p.res.Smoke = r.GoVersion, r.Added, r.Checks, r.Smoke
	p.res.Vulns, p.res.VulnDB = r.Vulns, r.VulnDB
	p.res.Store = r.Store
	p.res.Toolchain = r.Toolchain
}

// noteDrift reports drift as soon as modgen finds it.
func (p *pipeline) noteDrift(d *Drift) {
	if d != nil {
		p.res.Drift = append(p.res.Drift, *d)
		p.emit(Event{Kind: DriftFound, Stage: p.stage, Drift: d})
	}
}

// recordSwap records a finished swap: in the Result, and for a later Run
// in this process, which must start from the binary now in place.
func (p *pipeline) recordSwap(j *job, built *outcome, backup string) {
	p.res.Binary, p.res.Backup = j.target, backup
	p.res.Plugins = built.Result.Plugins
	if !j.swapping {
		return
	}
	recordExecutable(j.target)
	next := *j.info
	next.Plugins = built.Result.Plugins
	if err := recordNextBundle(built.BundleDir, &next, nextToolchain(&next, built.Result.Toolchain)); err != nil {
		p.warn("a second rebuild from this process will start from its original bundle: %v", err)
	}
}

// keepAsIs fills the Result of a run that prepare found had nothing to do.
func (p *pipeline) keepAsIs(j *job) {
	if j == nil || j.nothingToDo == "" {
		return
	}
	p.res.Plugins = Installed()
	p.warn("%s", j.nothingToDo)
}

// removeWork is the cleanup of the work directory: kept, and named, when
// the run failed and Options.KeepWorkDir asks for it.
func (p *pipeline) removeWork(work string) error {
	if p.res.Binary == "" && p.opts.KeepWorkDir {
		return fmt.Errorf("work directory kept for inspection: %s", work)
	}
	return srctree.RemoveAll(work)
}

func (p *pipeline) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.res.Warnings = append(p.res.Warnings, msg)
	p.emit(Event{Kind: WarningRaised, Stage: p.stage, Message: msg})
}

// started and ended report a stage that runs in this process.
func (p *pipeline) started(s Stage) { p.emit(Event{Kind: StageStarted, Stage: s}) }

func (p *pipeline) ended(s Stage, d time.Duration, err error) {
	if err != nil {
		p.emit(Event{Kind: StageFailed, Stage: s, Duration: d, Err: err})
		return
	}
	p.emit(Event{Kind: StageDone, Stage: s, Duration: d})
}

// emit passes e on to Options.OnEvent and Options.Progress, and records a
// stage's end, wherever the stage ran, in Result.Stages.
func (p *pipeline) emit(e Event) {
	switch e.Kind {
	case StageStarted:
		p.stage = e.Stage
	case StageDone, StageFailed:
		p.res.Stages = append(p.res.Stages, StageTiming{Stage: e.Stage, Duration: e.Duration})
	}
	if p.opts.OnEvent != nil {
		p.opts.OnEvent(e)
	}
	if p.view != nil {
		p.view.event(e, time.Now())
	}
}
