package build

import (
	"os"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
)

// Switch is the toolchain a rebuild moved to (Options.Toolchain): the
// new bundle carries it in place of the one the rebuild started from, so
// that the next rebuild is offline again (a full bundle), or records it
// for the next rebuild to fetch or find in the toolchain cache (slim).
type Switch struct {
	Move   bundle.ToolchainMove
	GOROOT string // where it is installed (the toolchain cache)
}

// apply puts the switch into the new bundle's manifest m and parts (nil
// for a slim bundle): a toolchain part made anew from the installed
// GOROOT with the generator's file set (toolchain.Files), and no
// compiled standard packages, which belong to the old toolchain.
func (s *Switch) apply(m *bundle.Manifest, parts map[string]archive.Source) error {
	move := s.Move
	m.GoVersion, m.Switched = move.To, &move
	if m.Rebuild != nil {
		m.Rebuild.Toolchain = &move
	}
	if m.Slim != nil {
		m.Slim = &bundle.Slim{Toolchain: move.Module, ToolchainSum: move.Sum}
		return nil
	}
	delete(parts, bundle.StdCacheFile)
	// The profile tool comes along when the toolchain has it: the
	// generator bundles it for hosts built with a profile.
	_, err := os.Stat(filepath.Join(s.GOROOT, "pkg", "tool", m.GOOS+"_"+m.GOARCH, toolchain.PGOTools[0]+exe(m.GOOS)))
	entries, err := toolchain.Files(s.GOROOT, s.GOROOT, m.GOOS, m.GOARCH, err == nil)
	if err != nil {
		return err
	}
	parts[bundle.ToolchainFile] = archive.Source{Entries: entries, Level: archive.LevelDefault, Window: archive.LongWindow}
	return nil
}

func exe(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}
