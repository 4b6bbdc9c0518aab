package selfcompile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// Event reports what a stage does: its start and end, and while it runs
// package counts, warnings, drift and go command runs. Kind says which
// fields are set: Stage always; for StageDone and StageFailed, Duration is
// the stage's run time and Err why it failed; for the others, see the
// kinds. MarshalJSON encodes it as one line of a JSON stream.
type Event struct {
	Kind     EventKind
	Stage    Stage
	Duration time.Duration
	Err      error
	// Done and Total count packages, for StageProgress: the go command
	// started compiling Done of the Total it found out of date.
	Done, Total int
	// Message is the text of a WarningRaised event.
	Message string
	// Drift is the change of a DriftFound event.
	Drift *Drift
	// Args are the go command's arguments after "go", and Dir its
	// working directory, for a GoCommandRan event.
	Args []string
	Dir  string
	// Vuln is the finding of a VulnFound event.
	Vuln *Vuln
	// Toolchain is the move of a ToolchainSwitched event.
	Toolchain *ToolchainMove
}

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event. A stage starts, then ends done or failed; while it
// runs it may report progress, warnings, drift and the go commands it
// ran.
const (
	StageStarted EventKind = iota
	StageDone              // Duration is the stage's
	StageFailed            // Duration, and Err why
	// StageProgress: the go command started compiling Done of the Total
	// packages it found out of date, in verify (the type-check compiles
	// the plugins' dependencies) and build. A stage that compiles many
	// packages reports from its eighth on, once its total is listed
	// beside the compile; every stage that compiled any reports last
	// Done of Done, what it compiled.
	StageProgress
	// WarningRaised: Message is a warning, also kept in Result.Warnings.
	WarningRaised
	// DriftFound: Drift is a change the plugins make to the host's
	// dependencies, also kept in Result.Drift.
	DriftFound
	// GoCommandRan: the go command ran with Args (after "go") in Dir for
	// Duration; Err says why it failed. Every go command of a rebuild is
	// reported, those go/packages runs for the type-check included (at
	// the end of that type-check).
	GoCommandRan
	// VulnFound: Vuln is a known vulnerability of the new binary, also
	// kept in Result.Vulns (see Options.Vulns).
	VulnFound
	// StoreUsed: Message says what was fetched from or pushed to
	// Options.Store, and Duration how long it took.
	StoreUsed
	// ToolchainSwitched: Toolchain is the move to another Go that
	// Options.Toolchain asked (in a dry run, would make), also kept in
	// Result.Toolchain; reported by the toolchain stage.
	ToolchainSwitched
)

var kindNames = [...]string{"start", "done", "failed", "progress", "warning", "drift", "go", "vuln", "store", "toolchain"}

// String returns "start", "done", "failed", "progress", "warning",
// "drift", "go", "vuln", "store" or "toolchain": the kind's name in JSON.
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Stage names a stage of a rebuild, as Event.Stage, StageError.Stage and
// StageTiming.Stage do.
type Stage = orchestrator.Stage

// The stages of a rebuild, in order.
const (
	StagePrepare   = orchestrator.Prepare
	StageToolchain = orchestrator.Toolchain
	StageSource    = orchestrator.Source
	StageModgen    = orchestrator.Modgen
	StageVerify    = orchestrator.Verify
	StageBuild     = orchestrator.Build
	StageSmoke     = orchestrator.Smoke
	StageSwap      = orchestrator.Swap
	StageCleanup   = orchestrator.Cleanup
)

// StageError is the error Run returns: the Stage that failed and why
// (Err). When the stage ran in the helper, Err is an *Error.
type StageError = orchestrator.StageError

// StageTiming is how long one stage ran.
type StageTiming struct {
	Stage    Stage
	Duration time.Duration
}

// jsonEvent is Event's JSON form.
type jsonEvent struct {
	Kind       string         `json:"kind"`
	Stage      Stage          `json:"stage"`
	DurationMS *float64       `json:"duration_ms,omitempty"`
	Error      string         `json:"error,omitempty"`
	Done       *int           `json:"done,omitempty"`
	Total      *int           `json:"total,omitempty"`
	Message    string         `json:"message,omitempty"`
	Drift      *jsonDrift     `json:"drift,omitempty"`
	Args       []string       `json:"args,omitempty"`
	Dir        string         `json:"dir,omitempty"`
	Vuln       *jsonVuln      `json:"vuln,omitempty"`
	Toolchain  *ToolchainMove `json:"toolchain,omitempty"`
}

// jsonVuln is a Vuln's JSON form.
type jsonVuln struct {
	ID         string `json:"id"`
	Module     string `json:"module"`
	Version    string `json:"version"`
	Fixed      string `json:"fixed,omitempty"`
	Summary    string `json:"summary,omitempty"`
	Reachable  bool   `json:"reachable"`
	Introduced bool   `json:"introduced"`
}

// jsonDrift is a Drift's JSON form, its kind named.
type jsonDrift struct {
	Kind    string   `json:"kind"`
	Module  string   `json:"module"`
	Old     string   `json:"old"`
	New     string   `json:"new"`
	Base    string   `json:"base,omitempty"`
	Plugins []string `json:"plugins,omitempty"`
}

// driftKindName names a drift kind in JSON.
func driftKindName(k bundle.DriftKind) string {
	switch k {
	case bundle.Moved:
		return "moved"
	case bundle.MajorVersion:
		return "major_version"
	case bundle.HostModule:
		return "host_module"
	}
	return fmt.Sprintf("drift_kind_%d", int(k))
}

// MarshalJSON encodes e as one line of a JSON event stream: "kind" and
// "stage", then the fields its kind sets — "duration_ms" (done, failed,
// go), "error" (its message), "done" and "total" (progress), "message"
// (warning; for drift, the change described), "drift" (drift: "kind" —
// "moved", "major_version" or "host_module" —, "module", "old", "new",
// "base", "plugins"), "args" and "dir" (go), "vuln" (vuln: "id",
// "module", "version", "fixed", "summary", "reachable", "introduced";
// "message" describes it), "toolchain" ("from", "to", "module",
// "sum"; with "message" the move described).
func (e Event) MarshalJSON() ([]byte, error) {
	v := jsonEvent{Kind: e.Kind.String(), Stage: e.Stage, Message: e.Message, Args: e.Args, Dir: e.Dir}
	switch e.Kind {
	case StageDone, StageFailed, GoCommandRan, StoreUsed:
		ms := float64(e.Duration.Microseconds()) / 1000
		v.DurationMS = &ms
	case StageProgress:
		v.Done, v.Total = &e.Done, &e.Total
	case DriftFound:
		if d := e.Drift; d != nil {
			v.Drift = &jsonDrift{Kind: driftKindName(d.Kind), Module: d.Module, Old: d.Old, New: d.New, Base: d.Base, Plugins: d.Plugins}
			v.Message = d.String()
		}
	case VulnFound:
		if f := e.Vuln; f != nil {
			v.Vuln = &jsonVuln{ID: f.ID, Module: f.Module, Version: f.Version, Fixed: f.Fixed, Summary: f.Summary, Reachable: f.Reachable, Introduced: f.Introduced}
			v.Message = f.String()
		}
	case ToolchainSwitched:
		if t := e.Toolchain; t != nil {
			v.Toolchain, v.Message = t, "toolchain "+t.String()
		}
	}
	if e.Err != nil {
		v.Error = e.Err.Error()
	}
	// Specs and messages keep their < and >, as a person wrote them.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}
