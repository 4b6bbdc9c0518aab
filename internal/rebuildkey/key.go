// Package rebuildkey owns the rebuild key: a digest of every input that
// decides the bytes of a rebuilt binary, so that two machines asking for
// the same change compute the same key and a store (package store) can
// hand one machine's result to the others. The key is a sha256 over a
// canonical, versioned text (Inputs.Text); docs/fleet.md lists what it
// covers.
package rebuildkey

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Version is the format of the text the key is computed over. It is part
// of the text and of the tag (Tag): a change to what the key covers
// changes Version, so that keys of two formats never meet.
const Version = 1

// Inputs are what decides the output of a rebuild.
type Inputs struct {
	// HostModule and HostVersion are the host module's path and its
	// version from the running binary's build information.
	HostModule, HostVersion string
	// Previous is the sha256 of the binary that runs the rebuild: the new
	// binary's rebuild record names it.
	Previous string
	// Parts are the bundle parts' sha256 sums by file name (the source
	// part among them); SlimToolchain is a slim bundle's toolchain sum.
	Parts         map[string]string
	SlimToolchain string
	// Plugins is the resolved plugin set; order does not matter.
	Plugins []Plugin
	// GoMod is the resolved build's go.mod; GoSum its go.sum lines (the
	// h1: sums of every module of the build list), in any order.
	GoMod []byte
	GoSum []string
	// Toolchain is the toolchain the build runs: its version and a
	// digest of its files (ToolchainDigest).
	GoVersion, ToolchainSum string
	// Flags are the go build flags in order; Env the build's environment
	// (KEY=VALUE, later settings win); order of keys does not matter.
	Flags []string
	Env   []string
	// GOOS and GOARCH are the target platform.
	GOOS, GOARCH string
	// RegisterFuncs and Constructors are the host's settings that decide
	// how a plugin is registered in the generated plugins file; order
	// does not matter.
	RegisterFuncs, Constructors []string
}

// Plugin is one plugin of the resolved set.
type Plugin struct {
	Path, Module, Version string
	// Constructor and Register are how an installed plugin registers.
	Constructor, Register string
}

// Key is the rebuild key of in: "sc<Version>-" and the hex sha256 of
// in.Text().
func (in *Inputs) Key() string {
	sum := sha256.Sum256([]byte(in.Text()))
	return fmt.Sprintf("sc%d-%s", Version, hex.EncodeToString(sum[:]))
}

// Text is the canonical text the key is a digest of: one "name value"
// line per input, every set sorted where its order does not matter, each
// value quoted so that no value can forge another line.
func (in *Inputs) Text() string {
	var b strings.Builder
	line := func(name string, values ...string) {
		b.WriteString(name)
		for _, v := range values {
			fmt.Fprintf(&b, " %q", v)
		}
		b.WriteByte('\n')
	}
	line("go-selfcompile-rebuild-key", fmt.Sprint(Version))
	line("host", in.HostModule, in.HostVersion)
	line("previous", in.Previous)
	for _, name := range sortedKeys(in.Parts) {
		line("part", name, in.Parts[name])
	}
	line("slim-toolchain", in.SlimToolchain)
	plugins := slices.Clone(in.Plugins)
	sort.Slice(plugins, func(i, j int) bool { return plugins[i].Path < plugins[j].Path })
	for _, p := range plugins {
		line("plugin", p.Path, p.Module, p.Version, p.Constructor, p.Register)
	}
	gomod := sha256.Sum256(in.GoMod)
	line("go.mod", hex.EncodeToString(gomod[:]))
	for _, s := range sortedSet(in.GoSum) {
		line("go.sum", s)
	}
	line("toolchain", in.GoVersion, in.ToolchainSum)
	line("flags", in.Flags...)
	env := map[string]string{}
	for _, kv := range in.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, k := range sortedKeys(env) {
		line("env", k, env[k])
	}
	line("platform", in.GOOS, in.GOARCH)
	line("register-funcs", sortedSet(in.RegisterFuncs)...)
	line("constructors", sortedSet(in.Constructors)...)
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sortedSet returns the distinct non-blank entries of s, trimmed and
// sorted.
func sortedSet(s []string) []string {
	var out []string
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// SumLines returns the lines of a go.sum file.
func SumLines(gosum []byte) []string {
	return strings.Split(strings.TrimSpace(string(gosum)), "\n")
}
