package selfcompile

// VulnPolicy says what a rebuild does with the known vulnerabilities of
// the binary it built (Options.Vulns). The database is the one GOVULNDB
// names, in Options.Env or else the process environment: a file://
// directory in the layout of https://go.dev/security/vuln/database#api,
// or an https URL; unset means https://vuln.go.dev, and "off" turns the
// check off.
type VulnPolicy int

// The vulnerability policies.
const (
	// WarnVulns reports every finding, in Result.Vulns and as VulnFound
	// events, and refuses none; a database that cannot be read is a
	// warning.
	WarnVulns VulnPolicy = iota
	// RefuseVulns refuses, before the swap, a vulnerability the rebuild
	// brings (Vuln.Introduced) whose vulnerable functions the new binary
	// links (Vuln.Reachable), with an error of kind RefusedVuln; one the
	// running binary has already is reported. A database that cannot be
	// read stops the rebuild before the swap.
	RefuseVulns
)

// RefusedVuln is the Error.Kind of a rebuild refused for a vulnerability
// it would bring in (Options.Vulns is RefuseVulns).
const RefusedVuln ErrorKind = "vuln"

// Vuln is a known vulnerability of a module version (or of the standard
// library) that a binary links, from the Go vulnerability database.
type Vuln struct {
	ID      string // e.g. "GO-2024-2687"
	Module  string // module path; "stdlib" for the standard library
	Version string // the version linked
	Fixed   string // the lowest version above Version that fixes it; empty when none does
	Summary string
	// Reachable says that the binary links a vulnerable function (in a
	// binary built with -ldflags=-s, which has no symbol table, every
	// vulnerable package of the module counts: govulncheck's rule);
	// false for a finding of the module alone, and in a dry run, which
	// builds nothing to look in.
	Reachable bool
	// Introduced says that the rebuild brings it: its module is new to
	// the binary or at another version, or it is of the standard library
	// and the Go version changed.
	Introduced bool
}

// String describes v on one line, e.g. "GO-2099-0001 in
// example.com/p@v1.0.0 (fixed in v1.2.0), reachable, new: summary".
func (v Vuln) String() string {
	s := v.ID + " in " + v.Module + "@" + v.Version
	if v.Fixed != "" {
		s += " (fixed in " + v.Fixed + ")"
	} else {
		s += " (no fixed version)"
	}
	if v.Reachable {
		s += ", reachable"
	}
	if v.Introduced {
		s += ", new"
	}
	if v.Summary != "" {
		s += ": " + v.Summary
	}
	return s
}
