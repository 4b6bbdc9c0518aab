// Package modgen owns the host's go.mod during a rebuild: it parses plugin
// specs, resolves each to one module version (or local directory) through
// the go command, computes the binary's new plugin set, writes the
// requirements into go.mod with golang.org/x/mod/modfile, and reports every
// host dependency the plugins move ("drift").
//
// # Spec grammar
//
//	spec  = path [ "@" query ]
//	path  = import path of a package | "./dir" | "../dir" | "/abs/dir"
//	query = "latest" | exact semantic version | go-version constraint
//
// An exact version is a canonical semantic version such as v1.2.0; a
// prerelease (v1.4.0-rc.1) or pseudo-version
// (v0.0.0-20240101000000-abcdef123456) is an exact version too. A
// constraint is anything github.com/hashicorp/go-version parses, e.g.
// ">=1.2,<2", "~>1.2" or "!=1.2.3"; it selects the highest release version
// of the module's version list that satisfies it, and a prerelease only
// when the constraint itself names one (">=1.4.0-rc.1"). No query means
// latest. Specs hold no spaces or shell characters. See [ParseSpec].
//
// Major versions follow Go's rule: v2 and above live at a module path
// ending in /vN, so example.com/p@v2.0.0 is refused in favour of
// example.com/p/v2@v2.0.0, and a constraint that only v2+ versions can meet
// is explained the same way when no version of example.com/p satisfies it.
//
// # Local directories
//
// A path that starts with ./, ../ or / is a directory, taken relative to
// [Resolver.BaseDir]. The directory is the plugin package; the module is
// the one whose go.mod is the nearest at or above it, exactly as the go
// command sees it, so both a module root and a package inside a module can
// be given. The module is required at the zero pseudo-version
// (v0.0.0-00010101000000-000000000000, or vN.0.0-... under a /vN path) and
// replaced by the module's root directory, [Resolved.Dir], which is what a
// caller copies into the new binary's bundle.
//
// # Plugin sets and drift
//
// [NewSet] turns the installed set, the resolved specs and the removals
// into the new set; [ApplyEdit] writes it into go.mod. [ReadGraph] reads
// the requirement graph (go mod graph) before and after, [Graph.BuildList]
// gives the build list of each, and [Compare] reports every host
// dependency that moves, with the plugins whose requirements pulled it; a
// [DriftPolicy] decides whether the rebuild may go on. The go command
// ignores requirements on the main module, so a plugin that needs a newer
// host is found in the graph's edges instead, and so is a plugin that
// brings another major version of a module the host uses.
package modgen
