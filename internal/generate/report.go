package generate

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
)

func printReport(out io.Writer, rep *Report) {
	for _, r := range rep.Replaced {
		fmt.Fprintf(out, "go-selfcompile: the cached toolchain archive %s did not match its checksum: rebuilt it\n", r)
	}
	m := rep.Manifest
	if rep.Platforms == nil {
		fmt.Fprintf(out, "go-selfcompile: bundled %s (%s, %s/%s) in %s\n", m.MainPackage, m.GoVersion, m.GOOS, m.GOARCH, rep.Dir)
	} else {
		fmt.Fprintf(out, "go-selfcompile: bundled %s (%s) in %s for %s\n", m.MainPackage, m.GoVersion, rep.Dir, strings.Join(rep.Platforms, ", "))
	}
	switch src := m.Source; {
	case src == nil:
	case src.Revision == "":
		fmt.Fprintf(out, "  note: no git stamp to compare a binary with (not a git work tree, or it does not ignore selfcompile_bundle*): only go-selfcompile bundle -check tells a stale bundle\n")
	case src.Modified:
		fmt.Fprintf(out, "  note: the git tree has uncommitted changes: a rebuild cannot tell a binary built after further edits; go-selfcompile bundle -check can\n")
	}
	if t := rep.Trim; t != nil {
		fmt.Fprintf(out, "  dependency modules trimmed to the packages the build uses (%s): %d of %d modules; kept %d files (%s), left out %d files (%s)\n",
			strings.Join(m.TrimPlatforms, ", "), len(t.Trimmed), t.Modules, t.KeptFiles, HumanSize(t.KeptBytes), t.DroppedFiles, HumanSize(t.DroppedBytes))
		most := slices.Clone(t.Trimmed)
		slices.SortFunc(most, func(a, b string) int { return cmp.Compare(t.Dropped[b], t.Dropped[a]) })
		for _, mv := range most[:min(len(most), 5)] {
			fmt.Fprintf(out, "    %-60s -%s\n", mv, HumanSize(t.Dropped[mv]))
		}
	}
	line := func(name string, size int64, note string) {
		fmt.Fprintf(out, "  %-52s %9s%s\n", name, HumanSize(size), note)
	}
	for _, pm := range rep.Manifests {
		var total int64
		if rep.Platforms != nil {
			fmt.Fprintf(out, "  %s:\n", pm.GOOS+"/"+pm.GOARCH)
		}
		for _, name := range pm.PartNames() {
			p := pm.Parts[name]
			total += p.Size
			file := name
			if rep.Platforms != nil {
				file = bundle.PlatformFile(name, pm.GOOS, pm.GOARCH)
			}
			note := ""
			if n, ok := rep.Files[file]; ok {
				note = fmt.Sprintf(" (%d files)", n)
			} else if name == bundle.ToolchainFile {
				note = " (" + rep.Toolchains[pm.GOOS+"/"+pm.GOARCH] + ")"
			}
			line(file, p.Size, note)
		}
		line("total", total, "")
	}
	for _, name := range rep.Removed {
		fmt.Fprintf(out, "  removed the stale %s\n", name)
	}
}

// HumanSize formats a byte count as the reports print it: MiB, KiB or B.
func HumanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
