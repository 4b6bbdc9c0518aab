package selfcompile

import (
	"errors"
	"io"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// Options configures a rebuild. The zero value of every field is a
// sensible default; Run does not modify it.
type Options struct {
	// Plugins are plugin specs to add, or to move to another version:
	// PATH[@QUERY], where QUERY is an exact version, "latest" (the default)
	// or a constraint such as ">=1.2,<2". Plugins already installed in the
	// running binary are kept unless listed in Remove.
	Plugins []string
	// Remove lists module or package paths of installed plugins to drop.
	Remove []string
	// Output, when set, is where the new binary is written instead of
	// replacing the running executable.
	Output string
	// RegisterFuncs, when set, lists fully qualified functions (e.g.
	// "database/sql.Register"); every new plugin must call one of them
	// from its init code or it is refused before the build.
	RegisterFuncs []string
	// Constructors, when set, are names of exported functions, such as
	// "NewFactory", that a plugin registering nothing from its init code
	// may declare instead (the OpenTelemetry Collector's components do):
	// a constructor takes no parameters and returns one value, and the
	// rebuilt binary passes that value to the one package-level function
	// of RegisterFuncs whose parameter it is assignable to, while package
	// main initialises. A plugin whose constructor fits none, or more
	// than one, is refused before the build, naming the types.
	Constructors []string
	// CacheDir holds the extracted toolchain, the build cache and the work
	// directories, shared by rebuilds. Empty means go-selfcompile under
	// os.UserCacheDir.
	CacheDir string
	// WorkDir is the parent of the work directory, which is removed when
	// Run returns. Empty means "work" under CacheDir.
	WorkDir string
	// KeepWorkDir keeps the work directory when Run fails, for debugging;
	// Result or the error names it.
	KeepWorkDir bool
	// Backups is how many previous binaries to keep beside the executable
	// (NAME.selfcompile-backup, then .2, .3, ...). Zero means 1; negative
	// keeps none.
	Backups int
	// NoWait makes Run fail at once when another rebuild of the same
	// binary holds the lock, instead of waiting for it.
	NoWait bool
	// SmokeTimeout bounds each run of the new binary in the smoke stage.
	// Zero means 30s.
	SmokeTimeout time.Duration
	// SmokeArgs, when set, are arguments the new binary is run with once
	// more after its smoke report (e.g. "--version"); it must exit 0.
	SmokeArgs []string
	// Dir is the directory that relative local-directory plugin specs
	// (./x, ../x) are taken from. Empty means the working directory.
	Dir string
	// DriftPolicy says which changes to the host's dependencies stop the
	// rebuild. The zero value, AllowDrift, reports them in Result.Drift
	// and goes on.
	DriftPolicy DriftPolicy
	// Allow, when set, is the install policy: the plugins that may be
	// installed, as module path patterns in the syntax of GOPRIVATE
	// (comma-separated globs, each matching a path and every path below
	// it, e.g. "github.com/myorg,example.com/plugins/*"). Any other plugin,
	// and any local directory, is refused in prepare, before any network
	// access, with an error matching ErrRefused; the module each plugin
	// resolves to is checked too. It is a host's setting, for programs
	// that let others ask for installs. Empty allows every plugin.
	Allow string
	// DryRun resolves and checks the plugins (versions, drift, the
	// type-check) and stops before the build: Result says what a rebuild
	// would install; nothing is built or replaced.
	DryRun bool
	// RequireChecksumDB refuses a plugin that brings a module the go
	// command fetched without checking it against the checksum database
	// (because of GOSUMDB=off, or a GONOSUMDB or GOPRIVATE pattern that
	// matches it). By default each such module is a warning naming the
	// setting.
	RequireChecksumDB bool
	// RefuseRetracted refuses a plugin version its authors retracted; by
	// default it is installed with a warning in Result.Warnings.
	RefuseRetracted bool
	// Env holds extra KEY=VALUE settings for the go command, applied after
	// the process environment (e.g. GOPROXY or GONOSUMDB).
	Env []string
	// Progress, when set, receives what a person follows: when it is a
	// terminal, a live line for the running stage with its elapsed time,
	// its step ("[5/9]") and, while the go build compiles (verify's
	// type-check waits for it, then the build stage), the packages it
	// compiled out of how many, redrawn in place; otherwise only one
	// line per stage as it ends (with the packages compiled: verify's
	// line says how many it waited for, the build's counts them too).
	// Warnings and drift get a line each as they come.
	Progress io.Writer
	// OnEvent, when set, is called for every event, in order, from the
	// goroutine that called Run: each stage's start and end, package
	// counts, warnings, drift, and every go command the rebuild ran,
	// with its arguments and duration (GoCommandRan). Event.MarshalJSON
	// encodes one as a JSON line.
	//
	// To log the go commands to a *slog.Logger, pass
	// plugincmd.LogEvents(logger): a func keeps log/slog out of hosts
	// that do not log.
	OnEvent func(Event)

	// Vulns says what to do with the known vulnerabilities of the new
	// binary, checked after the build and before the swap against the
	// database GOVULNDB names (see VulnPolicy): report them (WarnVulns,
	// the default) or refuse those the rebuild brings (RefuseVulns).
	Vulns VulnPolicy
	// Store, TrustedKeys and SigningKey share rebuilds across machines
	// (see docs/fleet.md). Store, when set, is an OCI repository
	// ("registry.example.com/org/myhost"; plain HTTP only to a loopback
	// address; credentials from the Docker configuration and its
	// credential helpers): a rebuild looks its rebuild key up there
	// once the plugins are resolved, and when found pulls that binary
	// and smoke-tests it instead of building; otherwise it builds and
	// pushes what it built. The store never fails a rebuild: when it
	// cannot be reached, or what it holds is refused, a warning says
	// so and the binary is built here.
	Store string
	// TrustedKeys, when set, are the public keys whose signature a
	// binary fetched from Store must carry, in authorized_keys format
	// ("ssh-ed25519 AAAA... name"); ed25519 only. An unsigned or wrongly
	// signed binary is refused with a warning, and built here.
	TrustedKeys []string
	// SigningKey, when set, is the file of an unencrypted ed25519
	// private key (OpenSSH format, as ssh-keygen -t ed25519 writes it)
	// with which a rebuild signs what it pushes to Store.
	SigningKey string
	// Toolchain, when set, moves the binary to another Go: "patch" the
	// newest patch release of its Go's minor version, "latest" the
	// newest release, or an exact release such as "go1.26.9". The
	// toolchain is fetched as the golang.org/toolchain module through
	// GOPROXY, which the go command checks against the checksum
	// database, and the new binary carries it (or, slim, records it):
	// Result.Toolchain and a ToolchainSwitched event report the move.
	// Empty keeps the bundled toolchain; a plugin whose go.mod asks a
	// newer Go is then refused, naming this option.
	Toolchain string
}

// Plugin is one plugin of a binary: its package path, the module providing
// it and the version, the query it was installed with, and the local
// directory it was installed from, if any. It is the record the bundle
// manifest keeps.
type Plugin = bundle.Plugin

// QueryBuildList is the Plugin.Query of a plugin installed with no
// version whose module the binary was built with already (a package of
// the host's own framework, such as Benthos' public/components/io): it
// stays at that module's version, and upgrade does not move it.
const QueryBuildList = bundle.QueryBuildList

// DriftPolicy says which dependency drift stops a rebuild.
type DriftPolicy int

// The drift policies.
const (
	AllowDrift        DriftPolicy = iota // report drift, refuse none (the default)
	RefuseDrift                          // refuse any drift
	RefuseBeyondPatch                    // refuse drift beyond the patch level, and other major versions
)

// Drift is one change the plugins make to the host's dependencies: a
// module moved to another version, another major version of a module
// added beside the host's, or a newer version of the host module itself
// required; its Kind says which (bundle.Moved, bundle.MajorVersion,
// bundle.HostModule).
type Drift = bundle.Drift

// Check is what the verify stage found in one added plugin: where its
// init code is and which registration calls it reaches. Positions are
// "file:line:column", the file shortened to its last two elements.
type Check struct {
	Path    string // import path
	Name    string // package name
	Module  string // module providing it
	Version string // module version; empty for the host module or a local directory
	// Inits are the func init declarations that have a body.
	Inits []string
	// VarInits are the package-level variable initialisers that call a
	// function.
	VarInits []string
	// Registrations are the calls to Options.RegisterFuncs reachable from
	// the init code, in source order.
	Registrations []Registration
	// Via are the packages the plugin brings into the build (that the
	// host did not link already) whose init code counted besides its own:
	// an aggregator's.
	Via []string
	// Constructor, when set, is how a plugin that registers nothing from
	// its init code is registered: by passing the result of its
	// constructor (Options.Constructors) to a registration function.
	Constructor *Construction
}

// Construction is how a constructor plugin is registered: the rebuilt
// binary calls Register(Func()) while package main initialises.
type Construction struct {
	Func     string // the plugin's constructor, e.g. "NewFactory"
	Register string // the Options.RegisterFuncs entry its result is passed to
	Type     string // the constructor's result type, e.g. "processor.Factory"
}

// SmokeReport is what the new binary reported when started under the
// smoke protocol (see package smoke), after every package's init had run.
type SmokeReport struct {
	GoVersion string   // the Go version it was built with
	Plugins   []Plugin // the plugins it was built with (path and version)
	// Registered is what its host reports as registered, when the host
	// calls ReportRegistrations.
	Registered []string
}

// Registration is one call to a registration function found in a plugin.
type Registration struct {
	Func string // the Options.RegisterFuncs entry it calls
	Pos  string // where
}

// Result describes a finished rebuild.
type Result struct {
	// Plugins is the plugin set of the new binary.
	Plugins []Plugin
	// Added lists the plugins the specs resolved to.
	Added []Plugin
	// Binary is the path the new binary was written to; empty when the
	// request was nothing to do (a warning says so).
	Binary string
	// Backup is where the previous binary was kept, if anywhere.
	Backup string
	// Checks is what verify found in each added plugin.
	Checks []Check
	// Smoke is the report the new binary gave under the smoke protocol.
	Smoke *SmokeReport
	// Stages lists each stage's duration in order.
	Stages []StageTiming
	// GoVersion is the version of the bundled toolchain.
	GoVersion string
	// Drift lists every change the plugins make to the host's
	// dependencies: module, old and new version, and the plugins that
	// pulled it.
	Drift []Drift
	// Warnings are things the rebuild did differently from the original
	// build, or noticed, without failing.
	Warnings []string

	// Vulns are the known vulnerabilities of the new binary (of its
	// build list, in a dry run), each also a VulnFound event; VulnDB is
	// the database they come from, its URL's user information hidden;
	// empty when the check was off (GOVULNDB=off) or could not run.
	Vulns  []Vuln
	VulnDB string
	// Store says how Options.Store served the rebuild; nil when no
	// store was used.
	Store *StoreResult
	// Toolchain is the move to another Go that Options.Toolchain made
	// (or, for a dry run, would make); nil when the Go stays. GoVersion
	// is then the new one.
	Toolchain *ToolchainMove
}

// StoreResult says how Options.Store served a rebuild.
type StoreResult struct {
	// Key is the rebuild key (see docs/fleet.md), the artifact's tag.
	Key string
	// Fetched says the binary was pulled from the store, not built
	// here; Pushed that it was built here and pushed.
	Fetched, Pushed bool
	// Location is the artifact, "REPOSITORY@sha256:..."; empty when
	// neither fetched nor pushed.
	Location string
	// Signer is the fingerprint of the key whose signature was verified
	// (fetched) or made (pushed), if any.
	Signer string
}

// ToolchainMove is a rebuild's move from one Go toolchain to another:
// the releases, and the golang.org/toolchain module version fetched with
// its h1: checksum.
type ToolchainMove = bundle.ToolchainMove

// Compiler rebuilds the running binary. Create it with New.
type Compiler struct {
	opts Options
}

// New returns a Compiler for opts. The options are copied.
func New(opts Options) *Compiler {
	o := opts
	o.Plugins = append([]string(nil), opts.Plugins...)
	o.Remove = append([]string(nil), opts.Remove...)
	o.RegisterFuncs = append([]string(nil), opts.RegisterFuncs...)
	o.Constructors = append([]string(nil), opts.Constructors...)
	o.SmokeArgs = append([]string(nil), opts.SmokeArgs...)
	o.Env = append([]string(nil), opts.Env...)
	o.TrustedKeys = append([]string(nil), opts.TrustedKeys...)
	return &Compiler{opts: o}
}

// ErrRefused matches (with errors.Is) an error of Run that refuses what
// was asked — a malformed spec, a plugin that is not installed or does
// not pass its checks, drift the policy refuses — or that the host as
// built cannot do — a stale bundle, a RegisterFuncs or Constructors entry
// that names nothing — as opposed to a failure of the machine or the
// network, where trying again may help.
var ErrRefused = errors.New("refused")

// ErrNoBundle is returned when the running binary carries no bundle.
var ErrNoBundle = errors.New("this binary carries no go-selfcompile bundle: run go generate with go-selfcompile bundle in its main package, then build it again")

// Error is a failure in the stages the helper runs (toolchain to smoke,
// and its check of the request in prepare): Run returns it inside a
// *StageError, where errors.As finds it. Kind says what was refused; it
// is empty for a failure of the machine or the network, where trying
// again may help. errors.Is(err, ErrRefused) holds for every other Kind.
type Error struct {
	Kind  ErrorKind
	Stage Stage
	// Plugin is the import path of the plugin at fault, when one is.
	Plugin string
	// Spec is the plugin spec at fault, as given, when one is.
	Spec string
	// Reason, for RefusedPlugin, says why the plugin was refused, e.g.
	// "no-registration" or "type-errors" (the reasons of package verify).
	Reason string
	// Msg is the error's message.
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Is makes a refusal match ErrRefused.
func (e *Error) Is(target error) bool { return e.Kind != "" && target == ErrRefused }

// ErrorKind says what an Error refused.
type ErrorKind string

// The kinds of Error that refuse what was asked or what the host as built
// can do.
const (
	RefusedSpec         ErrorKind = "spec"          // a malformed spec, or one no module provides
	RefusedNotInstalled ErrorKind = "not-installed" // removing a plugin that is not installed
	RefusedConflict     ErrorKind = "conflict"      // two specs asking one module at two versions
	RefusedPin          ErrorKind = "pin"           // a spec moving a module an installed plugin is pinned to
	RefusedDrift        ErrorKind = "drift"         // drift Options.DriftPolicy refuses
	RefusedPlugin       ErrorKind = "plugin"        // a plugin that does not pass verify's checks; see Reason
	RefusedSetting      ErrorKind = "setting"       // an Options.RegisterFuncs or Constructors entry that names nothing
	RefusedStale        ErrorKind = "stale"         // a bundle made from other sources than the binary
)

// RefusedToolchain is an Options.Toolchain that is malformed, or names
// a Go below the host's go.mod go line.
const RefusedToolchain ErrorKind = "toolchain"
