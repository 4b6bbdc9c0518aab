package main

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/generate"
	"github.com/selfcompile/go-selfcompile/internal/store"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
)

// binaryReport is what inspect says of a built binary.
type binaryReport struct {
	Binary    string           `json:"binary"`
	GoVersion string           `json:"go_version"`
	GOOS      string           `json:"goos"`
	GOARCH    string           `json:"goarch"`
	Main      string           `json:"main"`
	Version   string           `json:"version,omitempty"`
	Bundle    *bundle.Manifest `json:"bundle,omitempty"`
	// Plugins are the bundle's plugins, with the versions the binary was
	// linked with.
	Plugins []bundle.Plugin `json:"plugins,omitempty"`
	// Stale says how the binary's VCS stamp differs from the tree its
	// bundle was made from; empty when they agree or cannot be compared.
	Stale string `json:"stale,omitempty"`
	// Origin says whether this machine fetched the binary from a store
	// or built and pushed it (Options.Store); nil when it did neither.
	Origin *store.Origin `json:"origin,omitempty"`
}

// inspectBinary describes the built binary name, whatever its platform.
func inspectBinary(name string, asJSON bool, w io.Writer) error {
	bi, err := buildinfo.ReadFile(name)
	if err != nil {
		return fmt.Errorf("%s is not a Go binary with build information: %w", name, err)
	}
	rep := binaryReport{Binary: name, GoVersion: bi.GoVersion, Main: bi.Path, Version: bi.Main.Version}
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS":
			rep.GOOS = s.Value
		case "GOARCH":
			rep.GOARCH = s.Value
		}
	}
	m, err := bundle.ManifestInBinary(name)
	if err != nil {
		return err
	}
	rep.Bundle = m
	rep.Stale = stale(m, bi.Settings)
	rep.Origin = origin(name)
	linked := map[string]string{}
	for _, d := range bi.Deps {
		linked[d.Path] = d.Version
	}
	for _, p := range m.Plugins {
		if v, ok := linked[p.Module]; ok {
			p.Version = v
		}
		rep.Plugins = append(rep.Plugins, p)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "\t")
		return enc.Encode(rep)
	}
	return printBinary(w, &rep)
}

// printBinary writes rep as text. Every string it takes from the binary
// goes through quote: a crafted binary must not write to the terminal.
func printBinary(w io.Writer, rep *binaryReport) error {
	m := rep.Bundle
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "binary\t%s\n", quote(rep.Binary))
	fmt.Fprintf(tw, "go\t%s %s/%s\n", quote(rep.GoVersion), quote(rep.GOOS), quote(rep.GOARCH))
	fmt.Fprintf(tw, "main\t%s %s\n", quote(rep.Main), quote(rep.Version))
	var total int64
	for _, part := range m.Parts {
		total += part.Size
	}
	fmt.Fprintf(tw, "bundle\tformat %d, toolchain %s %s/%s, %s in %d parts\n", m.Format, quote(m.GoVersion), quote(m.GOOS), quote(m.GOARCH), generate.HumanSize(total), len(m.Parts))
	for _, name := range m.PartNames() {
		if p, ok := m.Parts[name]; ok {
			fmt.Fprintf(tw, "  %s\t%s\n", quote(name), generate.HumanSize(p.Size))
		}
	}
	if src := m.Source; src != nil {
		fmt.Fprintf(tw, "source\t%s\n", describeSource(src))
	}
	if rep.Stale != "" {
		fmt.Fprintf(tw, "stale\t%s: a rebuild refuses; run go generate, then go build\n", rep.Stale)
	}
	if len(m.Trimmed) > 0 {
		fmt.Fprintf(tw, "trimmed\t%d modules to the packages the build uses (%s); a rebuild that needs more of one downloads it\n", len(m.Trimmed), quoteAll(m.TrimPlatforms, ", "))
	}
	if m.Slim != nil {
		fmt.Fprintf(tw, "  slim\tfetches %s@%s (%s) and the modules through GOPROXY\n", toolchain.ModulePath, quote(m.Slim.Toolchain), quote(m.Slim.ToolchainSum))
	}
	fmt.Fprintf(tw, "toolchain\t%s\n", toolchainOrigin(m))
	if r := m.Rebuild; r != nil {
		fmt.Fprintf(tw, "rebuilt\tby %s from the binary with sha256 %s\n", quote(r.GoVersion), quote(r.Previous))
		if t := r.Toolchain; t != nil {
			fmt.Fprintf(tw, "  toolchain\t%s -> %s\n", quote(t.From), quote(t.To))
		}
		fmt.Fprintf(tw, "  settings\t%s\n", quoteAll(r.Settings, " "))
		if r.Key != "" {
			fmt.Fprintf(tw, "  key\t%s\n", quote(r.Key))
		}
		if o := rep.Origin; o != nil {
			fmt.Fprintf(tw, "  origin\t%s\n", describeOrigin(o))
		}
		for _, s := range r.Sums {
			fmt.Fprintf(tw, "  sum\t%s\n", quote(s))
		}
		for _, d := range r.Drift {
			fmt.Fprintf(tw, "  drift\t%s\n", quote(d.String()))
		}
		printVulnScan(tw, r.Vulns)
	}
	if len(rep.Plugins) == 0 {
		fmt.Fprintf(tw, "plugins\tnone\n")
	}
	for i, p := range rep.Plugins {
		label := ""
		if i == 0 {
			label = "plugins"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, describePlugin(p))
	}
	return tw.Flush()
}

func describePlugin(p bundle.Plugin) string {
	path, version := quote(p.Path), quote(p.Version)
	s := path + " " + version
	switch {
	case p.Dir != "":
		s = path + " from " + quote(p.Dir)
	case p.Version == "":
		s = path + " (part of the host module)"
	case p.Query == bundle.QueryBuildList:
		s = fmt.Sprintf("%s %s (the build's version of %s)", path, version, quote(p.Module))
	case p.Query != "" && p.Query != p.Version:
		s = fmt.Sprintf("%s %s (asked %s)", path, version, quote(p.Query))
	}
	if p.Constructor != "" {
		s += fmt.Sprintf(", registered as %s(%s())", quote(p.Register), quote(p.Constructor))
	}
	return s
}

// quote returns s as it is when every character of it is printable, and
// otherwise as a Go string literal, escapes and all, as git quotes a path
// (core.quotePath): control characters, a tab or newline that would draw
// a column or a line of their own, terminal escapes, invisible format
// characters and invalid UTF-8 are shown, not obeyed.
func quote(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func quoteAll(list []string, sep string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = quote(s)
	}
	return strings.Join(out, sep)
}

// inspectDir prints the manifest of the bundle generated in dir, or of
// each platform of a bundle generated for several, one after the other.
func inspectDir(dir string, w io.Writer) error {
	fsys := os.DirFS(dir)
	names, err := fs.Glob(fsys, manifestGlob)
	if err != nil {
		return err
	}
	if _, err := fs.Stat(fsys, bundle.ManifestFile); err == nil || len(names) == 0 {
		names = []string{bundle.ManifestFile} // the error says what is missing
	}
	for _, name := range names {
		m, err := bundle.ReadManifestFile(fsys, name)
		if err != nil {
			return err
		}
		data, err := m.Marshal()
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

// manifestGlob matches the per-platform manifests of a bundle generated
// for several platforms.
var manifestGlob = strings.Replace(bundle.PlatformFile(bundle.ManifestFile, "GOOS", "GOARCH"), "GOOS_GOARCH", "*_*", 1)

// toolchainOrigin says where the bundle's toolchain came from: the
// generator, or a rebuild that moved the binary to it (Options.Toolchain),
// with the module version and checksum it was fetched as.
func toolchainOrigin(m *bundle.Manifest) string {
	t := m.Switched
	if t == nil {
		return quote(m.GoVersion) + ", bundled at generate time"
	}
	return fmt.Sprintf("%s, switched from %s at a rebuild: %s@%s %s", quote(t.To), quote(t.From), toolchain.ModulePath, quote(t.Module), quote(t.Sum))
}
