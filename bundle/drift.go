package bundle

import (
	"fmt"
	"strings"

	"golang.org/x/mod/semver"
)

// DriftKind says how a plugin changes the host's dependencies.
type DriftKind int

// The kinds of drift.
const (
	// Moved: a module the host uses is selected at another version.
	Moved DriftKind = iota
	// MajorVersion: a plugin needs another major version of a module the
	// host uses (example.com/m/v2 beside the host's example.com/m). Both
	// are linked, as separate modules that share no state.
	MajorVersion
	// HostModule: a plugin requires a newer version of the host's own
	// module. The go command ignores requirements on the main module, so
	// the plugin is built against the bundled host source, which may lack
	// what it uses.
	HostModule
)

// Drift is one change a plugin set makes to the host's dependencies, as
// package modgen finds it and a rebuilt binary's manifest records it.
type Drift struct {
	Kind   DriftKind
	Module string // the module that moved; for MajorVersion the added major path
	Old    string // its version in the host's build; for MajorVersion, Base's version
	New    string // its version with the plugins; for HostModule, the version required
	// Base is, for MajorVersion, the module path the host uses.
	Base string
	// Plugins are the plugin modules whose requirements pull the change:
	// for Moved, those that reach Module at New or above.
	Plugins []string
}

// BeyondPatch reports whether d changes more than the patch level.
func (d Drift) BeyondPatch() bool {
	if d.Kind == MajorVersion {
		return true
	}
	return semver.MajorMinor(d.Old) != semver.MajorMinor(d.New)
}

// String describes d on one line.
func (d Drift) String() string {
	by := ""
	if len(d.Plugins) > 0 {
		by = " (pulled by " + strings.Join(d.Plugins, ", ") + ")"
	}
	switch d.Kind {
	case MajorVersion:
		return fmt.Sprintf("%s %s is added beside the host's %s %s%s: another major version is a separate module, so both are linked and share no state", d.Module, d.New, d.Base, d.Old, by)
	case HostModule:
		return fmt.Sprintf("the host module %s is required at %s, newer than the host's %s%s: the go command ignores that requirement and builds the plugin against the host's bundled source; update the host, or ask an older plugin version", d.Module, d.New, d.Old, by)
	}
	return fmt.Sprintf("%s %s -> %s%s", d.Module, d.Old, d.New, by)
}

// Brief describes d in a few words, for a list.
func (d Drift) Brief() string {
	var s string
	switch d.Kind {
	case MajorVersion:
		s = fmt.Sprintf("%s %s beside %s %s", d.Module, d.New, d.Base, d.Old)
	case HostModule:
		s = fmt.Sprintf("host module %s %s -> %s", d.Module, d.Old, d.New)
	default:
		s = fmt.Sprintf("%s %s -> %s", d.Module, d.Old, d.New)
	}
	if len(d.Plugins) > 0 {
		s += " (" + strings.Join(d.Plugins, ", ") + ")"
	}
	return s
}
