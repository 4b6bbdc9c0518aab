package generate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// platform is one GOOS/GOARCH pair.
type platform struct{ goos, goarch string }

func (p platform) String() string { return p.goos + "/" + p.goarch }

// env is what makes the go command build for p.
func (p platform) env() []string { return []string{"GOOS=" + p.goos, "GOARCH=" + p.goarch} }

// platforms checks Options.Platforms against the platforms the go command
// knows (go tool dist list), before any work: nil means go env's.
func (g *generator) platforms(ctx context.Context) ([]platform, error) {
	if g.opts.Platforms == nil {
		return []platform{{g.env.GOOS, g.env.GOARCH}}, nil
	}
	if len(g.opts.Platforms) == 0 {
		return nil, errors.New("-platforms is empty: name at least one GOOS/GOARCH, e.g. linux/amd64")
	}
	out, err := g.run.Run(ctx, gocmd.Invocation{Verb: "tool", Args: []string{"dist", "list"}, WorkingDir: g.dir})
	if err != nil {
		return nil, fmt.Errorf("listing the platforms go supports: %w", err)
	}
	known := strings.Fields(string(out))
	var ps []platform
	seen := map[string]bool{}
	for _, name := range g.opts.Platforms {
		name = strings.TrimSpace(name)
		goos, goarch, ok := strings.Cut(name, "/")
		if !ok || !slices.Contains(known, name) {
			return nil, fmt.Errorf("-platforms: %q is not a platform %s supports (go tool dist list names them, e.g. linux/arm64)", name, g.env.GOVERSION)
		}
		if seen[name] {
			return nil, fmt.Errorf("-platforms: %s is named twice", name)
		}
		seen[name] = true
		ps = append(ps, platform{goos, goarch})
	}
	// The go command builds a file named for linux on android too, for
	// darwin on ios, for solaris on illumos: both stubs would compile.
	for _, pair := range [][2]string{{"android", "linux"}, {"ios", "darwin"}, {"illumos", "solaris"}} {
		for _, p := range ps {
			if p.goos == pair[0] && seen[pair[1]+"/"+p.goarch] {
				return nil, fmt.Errorf("-platforms: %s and %s/%s cannot be bundled together: go build compiles files named for %s into %s programs too", p, pair[1], p.goarch, pair[1], pair[0])
			}
		}
	}
	return ps, nil
}
