// Package bundle owns the format of what a host binary carries to rebuild
// itself: a manifest and four compressed parts (and optional ones),
// embedded by the generated selfcompile_bundle.go file ([Stub]), and the
// records the manifest keeps: plugins and drift. Writing and unpacking the
// archives is package internal/archive's; a host links only this light
// package.
//
// The parts are:
//
//   - toolchain: a trimmed GOROOT (see package toolchain for the file set);
//   - helper: the go-selfcompile command built for the host's platform
//     ([HelperPackage]), which runs what only a rebuild needs outside the
//     host's process (see internal/helper), as one gzip stream;
//   - source: the host module under "module/" and every local replace
//     directory under "replace/N/", with the archived go.mod rewritten to
//     point at those copies, so the tree builds wherever it is unpacked
//     ([SourceModuleDir]);
//   - modules: the dependency modules the host builds with, as a module
//     cache (GOMODCACHE) without zips, tests and testdata (see
//     [ModuleEntries]), each trimmed to the packages the build uses
//     ([Manifest.Trimmed]; see internal/modtrim);
//   - stdcache, optional (bundle -prewarm): the compiled standard packages
//     the host uses, as go build cache entries.
//
// A slim bundle (bundle -slim, [Slim]) has only the source part, gzip-
// compressed; a rebuild fetches the rest (package slim). A bundle
// generated for several platforms (bundle -platforms) names each
// platform's files for it ([PlatformFile]).
//
// The manifest records the Go version and target platform, the main
// package, the installed plugins and the sha256 and size of every part.
// Archives hold only directories and regular files; extraction refuses
// any entry that would land outside its destination.
package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"time"
)

// File names written into the host's main package directory. All begin
// with "selfcompile_bundle" so that one .gitignore line covers them.
const (
	StubFile      = "selfcompile_bundle.go"
	PluginsFile   = "selfcompile_bundle_plugins.go"
	ManifestFile  = "selfcompile_bundle_manifest.json"
	ToolchainFile = "selfcompile_bundle_toolchain.tar.zst"
	HelperFile    = "selfcompile_bundle_helper.gz"
	SourceFile    = "selfcompile_bundle_source.tar.zst"
	ModulesFile   = "selfcompile_bundle_modules.tar.zst"
	// StdCacheFile is the optional part that holds the compiled standard
	// packages the host uses, as go build cache entries (bundle -prewarm).
	StdCacheFile = "selfcompile_bundle_stdcache.tar.zst"
)

// Parts lists the archive files every bundle has, in the order they are
// used.
var Parts = []string{ToolchainFile, HelperFile, SourceFile, ModulesFile}

// OptionalParts lists the archive files a bundle may have.
var OptionalParts = []string{StdCacheFile}

// SlimParts lists the archive files a slim bundle (bundle -slim) has:
// the toolchain and the modules are fetched, and the helper built, by the
// first rebuild on a machine (package slim).
var SlimParts = []string{SourceFile}

// Required lists the parts m must have: Parts, or SlimParts for a slim
// bundle.
func (m *Manifest) Required() []string {
	if m.Slim != nil {
		return SlimParts
	}
	return Parts
}

// PartNames lists the parts m has: every one it requires, then the
// optional ones it records.
func (m *Manifest) PartNames() []string {
	names := append([]string(nil), m.Required()...)
	for _, name := range OptionalParts {
		if _, ok := m.Parts[name]; ok {
			names = append(names, name)
		}
	}
	return names
}

// HelperPackage is the command the helper part holds, and HelperName its
// file name in the archive (with ".exe" on Windows).
const (
	HelperPackage = "github.com/selfcompile/go-selfcompile/cmd/go-selfcompile"
	HelperName    = "go-selfcompile"
)

// FormatVersion is the manifest format this package reads and writes.
// Format 2 added the helper part; format 3 made it one gzip-compressed
// executable, which a host unpacks with the standard library alone.
const FormatVersion = 3

// Manifest describes a bundle.
type Manifest struct {
	Format      int    `json:"format"`
	GoVersion   string `json:"go_version"` // e.g. "go1.26.8"
	GOOS        string `json:"goos"`
	GOARCH      string `json:"goarch"`
	Module      string `json:"module"`       // host module path
	MainPackage string `json:"main_package"` // import path of the host's main package
	MainDir     string `json:"main_dir"`     // main package directory, slash-separated, relative to the module root
	// Plugins are the plugins the binary carrying this bundle was built with.
	Plugins []Plugin `json:"plugins,omitempty"`
	// Parts maps each archive file name to its checksum and size.
	Parts map[string]Part `json:"parts"`
	// ModuleFrames says where each module's zstd frame lies in the
	// modules part ("path@version"), for the next rebuild to copy.
	ModuleFrames map[string]Frame `json:"module_frames,omitempty"`
	// Trimmed lists the dependency modules ("path@version") the modules
	// part holds only in part: the package directories the build uses,
	// go.mod, licence files and embedded files. A rebuild that needs
	// another package of one downloads the whole module first (see
	// internal/build.Completer).
	Trimmed []string `json:"trimmed,omitempty"`
	// TrimPlatforms are the platforms ("GOOS/GOARCH") whose builds the
	// trimmed modules keep the packages of; empty means GOOS/GOARCH.
	TrimPlatforms []string `json:"trim_platforms,omitempty"`
	// StdPackages are the standard-library packages the host's build
	// uses (on any of the platforms it was listed for), sorted: a first
	// rebuild compiles them while it unpacks the modules, which they do
	// not need.
	StdPackages []string `json:"std_packages,omitempty"`
	// Rebuild records how a rebuild made the binary that carries this
	// bundle; nil for a binary built by go build.
	Rebuild *Rebuild `json:"rebuild,omitempty"`
	// Source says what the generator bundled the host from; nil for a
	// bundle made before it was recorded, and in a rebuilt binary's.
	Source *SourceStamp `json:"source,omitempty"`
	// Slim is set for a slim bundle (bundle -slim), which carries only the
	// source part: what a rebuild fetches instead.
	Slim *Slim `json:"slim,omitempty"`

	// Switched says where the toolchain came from when a rebuild moved
	// the binary to it (Options.Toolchain): the move, with the
	// golang.org/toolchain module version and its h1: sum. Nil for the
	// toolchain the generator bundled. Later rebuilds carry it on.
	Switched *ToolchainMove `json:"toolchain_switched,omitempty"`
}

// ToolchainMove is a rebuild's move from one Go toolchain to another.
type ToolchainMove struct {
	From string `json:"from"` // e.g. "go1.26.8"
	To   string `json:"to"`   // e.g. "go1.26.9"
	// Module is the golang.org/toolchain version fetched, e.g.
	// "v0.0.1-go1.26.9.linux-amd64", and Sum its h1: checksum as the go
	// command checked it.
	Module string `json:"module,omitempty"`
	Sum    string `json:"sum,omitempty"`
}

// String says the move as a line of progress: "go1.26.8 -> go1.26.9".
func (t ToolchainMove) String() string { return t.From + " -> " + t.To }

// Slim is what a slim bundle fetches instead of carrying it: the toolchain
// as the golang.org/toolchain module version of its Go version and
// platform, checked against the h1: sum the checksum database had for it
// when the bundle was made; and the dependency modules, through GOPROXY,
// checked against the host's go.sum by the go command.
type Slim struct {
	Toolchain    string `json:"toolchain"`     // e.g. "v0.0.1-go1.26.8.linux-amd64"
	ToolchainSum string `json:"toolchain_sum"` // "h1:..."
}

// Rebuild is the record of one rebuild: what went into the binary.
type Rebuild struct {
	// GoVersion is the toolchain that built it.
	GoVersion string `json:"go_version"`
	// Settings are the build's flags and environment, as the rebuild
	// took them from the previous binary's build information.
	Settings []string `json:"settings,omitempty"`
	// Sums are the go.sum lines of the plugins' modules ("path version
	// h1:..."), so that what was linked can be checked later.
	Sums []string `json:"sums,omitempty"`
	// Drift is what the plugins moved in the host's dependencies.
	Drift []Drift `json:"drift,omitempty"`
	// Previous is the sha256 of the binary that ran the rebuild.
	Previous string `json:"previous_sha256,omitempty"`

	// Key is the rebuild key (package rebuildkey) of a rebuild with a
	// store (Options.Store), the same on every machine that asks for it.
	Key string `json:"key,omitempty"`
	// Vulns is the vulnerability scan of the binary's build list, made
	// before its build; nil when the check was off.
	Vulns *VulnScan `json:"vulns,omitempty"`
	// Toolchain is the move to another Go this rebuild made, if any.
	Toolchain *ToolchainMove `json:"toolchain,omitempty"`
}

// VulnScan records a scan of a build list against a vulnerability
// database: of the modules and the Go version, for the binary that
// carries it could not be scanned before it was built (its functions
// were looked at too, before the swap: Result.Vulns says what was
// reachable).
type VulnScan struct {
	DB   string    `json:"db"` // the database, its URL's user information hidden
	Time time.Time `json:"time"`
	// Findings are the IDs of the vulnerabilities found, with the module
	// and version: "GO-2099-0001 example.com/p@v1.0.0".
	Findings []string `json:"findings,omitempty"`
	// Error says why the database could not be read; no finding is
	// known then.
	Error string `json:"error,omitempty"`
}

// Frame is where one zstd frame lies in a part.
type Frame struct {
	Offset int64 `json:"offset"`
	Size   int64 `json:"size"`
	// Files is a digest of the names of the files the frame holds: a
	// module at one version is the same everywhere, but a trimmed one may
	// hold other files, and a frame is reused only for the same files.
	Files string `json:"files,omitempty"`
}

// Part is the checksum and size of one archive of the bundle.
type Part struct {
	SHA256 string `json:"sha256"` // hex
	Size   int64  `json:"size"`
}

// Plugin is one installed plugin as the manifest records it.
type Plugin struct {
	Path    string `json:"path"`              // package import path
	Module  string `json:"module,omitempty"`  // module providing it
	Version string `json:"version,omitempty"` // resolved version; empty for a package of the host module
	Query   string `json:"query,omitempty"`   // the query it was asked with, e.g. "latest"; see QueryBuildList
	Dir     string `json:"dir,omitempty"`     // local directory it was installed from, if any
	// Constructor, when set, is the exported function of a plugin that
	// registers nothing from its init code, and Register the host's
	// registration function its result is passed to: the generated
	// plugins file calls Register(Constructor()).
	Constructor string `json:"constructor,omitempty"`
	Register    string `json:"register,omitempty"`
}

// QueryBuildList is the Plugin.Query of a plugin asked for with no
// version whose module the build already had: it stays at the version
// the build list selects for that module (the host's, or another
// plugin's), and moves only with it, never by itself.
const QueryBuildList = "build-list"

// ReadManifest reads and checks the manifest in fsys.
func ReadManifest(fsys fs.FS) (*Manifest, error) { return ReadManifestFile(fsys, ManifestFile) }

// ReadManifestFile reads and checks the manifest file name in fsys: the
// manifest of a single-platform bundle, or one platform's of a bundle
// generated for several (see PlatformFile).
func ReadManifestFile(fsys fs.FS, name string) (*Manifest, error) {
	data, err := readCapped(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("reading bundle manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%s: format %d, want %d: regenerate the bundle with this version of go-selfcompile", name, m.Format, FormatVersion)
	}
	for _, part := range m.Required() {
		if _, ok := m.Parts[part]; !ok {
			return nil, fmt.Errorf("%s: no entry for %s: regenerate the bundle", name, part)
		}
	}
	return &m, nil
}

// readCapped reads the file name of fsys, refusing one larger than
// MaxManifestSize.
func readCapped(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a manifest go-selfcompile wrote", name, MaxManifestSize>>20)
	}
	return data, nil
}

// Marshal returns the manifest as indented JSON with plugins sorted.
func (m *Manifest) Marshal() ([]byte, error) {
	c := *m
	c.Plugins = append([]Plugin(nil), m.Plugins...)
	sort.Slice(c.Plugins, func(i, j int) bool { return c.Plugins[i].Path < c.Plugins[j].Path })
	data, err := json.MarshalIndent(&c, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Fetch is how a binary with a slim bundle gets what its bundle does not
// carry. The generated stub of a slim bundle sets it, with Provide set to
// package slim's, so that only programs with slim bundles link the code
// that fetches.
type Fetch struct {
	Slim
	// Provide fetches and installs the toolchain and builds the helper.
	Provide func(ctx context.Context, req FetchRequest) (*Fetched, error)
}

// FetchRequest is what a rebuild asks of Fetch.Provide.
type FetchRequest struct {
	// Bundle holds the bundle's files under their single-platform names.
	Bundle fs.FS
	// Slim is what to fetch, for GoVersion, GOOS and GOARCH.
	Slim                    Slim
	GoVersion, GOOS, GOARCH string
	// Cache holds toolchains and the build cache; ModCache is the module
	// cache of this program's rebuilds; Work is this run's work directory.
	Cache, ModCache, Work string
	// Env are the caller's settings for the go command (Options.Env).
	Env []string
}

// Fetched is what Fetch.Provide made ready: an installed, checked GOROOT,
// and the helper executable, built with it.
type Fetched struct {
	GOROOT, Helper string
}

// SourceStamp records the tree a bundle was generated from, so that a
// binary built from another tree (main.go edited, go build run without
// go generate) is caught.
type SourceStamp struct {
	// Digest is the sha256 of the host's build inputs as the source part
	// holds them (names and contents; the bundle's own files left out):
	// go-selfcompile bundle -check compares it with the tree's.
	Digest string `json:"digest"`
	// Revision and Modified are the VCS state of the tree, as go build
	// stamps it (vcs.revision, vcs.modified), when it can be compared
	// with a binary's stamp: the tree is a git work tree that ignores the
	// bundle's files. Otherwise Revision is empty.
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
}

// StaleFrom is Stale with the binary's VCS stamp read from its build
// settings: setting returns the value of a key such as "vcs.revision",
// empty when it is not set.
func (s *SourceStamp) StaleFrom(setting func(key string) string) string {
	return s.Stale(setting("vcs.revision"), setting("vcs.modified") == "true")
}

// Stale compares the VCS stamp of a binary (its build settings
// vcs.revision and vcs.modified) with the tree its bundle was made from,
// and says how they differ; empty when they agree or cannot be compared
// (no stamp on either side, as for a rebuilt binary).
func (s *SourceStamp) Stale(revision string, modified bool) string {
	switch {
	case s == nil || s.Revision == "" || revision == "":
		return ""
	case revision != s.Revision:
		return fmt.Sprintf("the binary was built from revision %s, its bundle from revision %s", short(revision), short(s.Revision))
	case modified && !s.Modified:
		return fmt.Sprintf("the binary was built from a modified tree at revision %s, its bundle from that revision unmodified", short(revision))
	}
	return ""
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
