package rebuild

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/goswitch"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/tcache"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
	"github.com/selfcompile/go-selfcompile/orchestrator"
)

// This file holds the move to another Go (Job.Toolchain), a step of the
// toolchain stage: the release resolved and fetched with the bundled go
// command, which checks golang.org/toolchain against the checksum
// database, and installed into the toolchain cache; the stages after it
// build with it, and the new bundle carries it (build.Input.Switch).

// switched is the toolchain a rebuild moved to.
type switched struct {
	move   bundle.ToolchainMove
	goroot string
}

// switchToolchain resolves Job.Toolchain with the go command at bundled
// (the bundled or fetched toolchain), and fetches and installs the
// release it selects: nil when that is the release the binary has.
func (p *pipeline) switchToolchain(ctx context.Context, req *request, bundled string) (*switched, error) {
	job, m := p.job, req.manifest
	if job.Toolchain == "" {
		return nil, nil
	}
	dir, err := os.MkdirTemp(job.Work, "toolchain-")
	if err != nil {
		return nil, err
	}
	defer srctree.RemoveAll(dir)
	goRun := req.settings.downloadRunner(bundled)
	goRun.OnRun = p.ranGo
	// A module cache of its own, removed with dir: the zip is what is
	// kept, installed into the toolchain cache.
	inv := gocmd.Invocation{WorkingDir: dir, Env: []string{"GOMODCACHE=" + filepath.Join(dir, "mod"), "GOFLAGS=-modcacherw"}}
	version, err := resolveToolchain(ctx, goRun, inv, job.Toolchain, m)
	if err != nil {
		return nil, err
	}
	if version == m.GoVersion {
		return nil, nil
	}
	mv := goswitch.ModuleVersion(version, m.GOOS, m.GOARCH)
	dl, err := goRun.Download(ctx, inv, toolchain.ModulePath+"@"+mv)
	if err == nil && (dl.Sum == "" || dl.Zip == "") {
		err = fmt.Errorf("the go command gave no zip or checksum for it")
	}
	if err != nil {
		return nil, fmt.Errorf("toolchain %s: %s@%s is not available through GOPROXY: %v", version, toolchain.ModulePath, mv, oneLine(err))
	}
	goroot, err := tcache.InstallZip(dl.Zip, dl.Sum, m.GOOS, m.GOARCH, job.Cache)
	if err != nil {
		return nil, fmt.Errorf("toolchain %s: %w", version, err)
	}
	if got := releaseOf(goroot); got != version {
		return nil, fmt.Errorf("toolchain %s: %s@%s holds %q (its VERSION file), not %s", version, toolchain.ModulePath, mv, got, version)
	}
	s := &switched{move: bundle.ToolchainMove{From: m.GoVersion, To: version, Module: mv, Sum: dl.Sum}, goroot: goroot}
	_ = p.w.Send(selfcompile.Event{Kind: selfcompile.ToolchainSwitched, Stage: orchestrator.Toolchain, Toolchain: &s.move})
	return s, nil
}

// stays says that Job.Toolchain selected the Go the binary has: a
// warning when the rebuild has plugins to add or remove, else why it is
// nothing to do (returned).
func (p *pipeline) stays(tc *tools) string {
	why := fmt.Sprintf("toolchain %q selects %s, the Go this binary has", p.job.Toolchain, tc.manifest.GoVersion)
	if len(tc.specs) == 0 && len(p.job.Remove) == 0 {
		return "nothing to do: " + why
	}
	p.warn("%s: it stays", why)
	return ""
}

// resolveToolchain is the release req selects: an exact one as it is,
// "patch" and "latest" from the golang.org/toolchain versions GOPROXY
// lists for the bundle's platform.
func resolveToolchain(ctx context.Context, goRun *gocmd.Runner, inv gocmd.Invocation, req string, m *bundle.Manifest) (string, error) {
	if goswitch.IsRelease(req) {
		return req, nil
	}
	var stdout bytes.Buffer
	inv.Verb, inv.Args, inv.Stdout = "list", []string{"-m", "-versions", "-json", toolchain.ModulePath}, &stdout
	if _, err := goRun.Run(ctx, inv); err != nil {
		return "", fmt.Errorf("toolchain %q: listing the releases of %s through GOPROXY: %v", req, toolchain.ModulePath, oneLine(err))
	}
	var listed struct{ Versions []string }
	if err := json.Unmarshal(stdout.Bytes(), &listed); err != nil {
		return "", fmt.Errorf("toolchain %q: reading go list -m -versions: %w", req, err)
	}
	return goswitch.Select(req, m.GoVersion, goswitch.Releases(listed.Versions, m.GOOS, m.GOARCH))
}

// releaseOf is the first line of goroot's VERSION file.
func releaseOf(goroot string) string {
	data, _ := os.ReadFile(filepath.Join(goroot, "VERSION"))
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(line)
}

// checkGoLine refuses a move below the host's go.mod go line (the
// unpacked host's go.mod, gomod): the go command would refuse to build
// the host with it.
func checkGoLine(gomod []byte, s *switched) error {
	if s == nil {
		return nil
	}
	line := goLine(gomod)
	if goswitch.Needs(line, s.move.To) {
		return &toolchainError{fmt.Sprintf("toolchain %s is below the host's go.mod go line (go %s): ask a release of %s or later", s.move.To, line, goswitch.GoLine(line))}
	}
	return nil
}

// toolchainError is a Job.Toolchain the host cannot move to: the
// request's fault (selfcompile.RefusedToolchain).
type toolchainError struct{ msg string }

func (e *toolchainError) Error() string { return e.msg }

// goLine is the go line of the go.mod file gomod, without parsing the
// rest ("" when it has none).
func goLine(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "go" {
			return f[1]
		}
	}
	return ""
}

// oneLine is err's message on one line: the go command's last line says
// why.
func oneLine(err error) string {
	msg := strings.TrimSpace(err.Error())
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = strings.TrimSpace(msg[i+1:])
	}
	return msg
}

// keptManifest is m as the copy of the parts a new bundle carries on
// unchanged sees it: after a switch, without the toolchain and its
// compiled standard packages, which the new bundle replaces.
func keptManifest(m *bundle.Manifest, s *switched) *bundle.Manifest {
	if s == nil {
		return m
	}
	c := *m
	c.Parts = maps.Clone(m.Parts)
	delete(c.Parts, bundle.ToolchainFile)
	delete(c.Parts, bundle.StdCacheFile)
	return &c
}

// goVersion is the Go the rebuild builds with.
func (tc *tools) goVersion() string {
	if tc.switched != nil {
		return tc.switched.move.To
	}
	return tc.manifest.GoVersion
}

// buildSwitch is the switch as the build takes it; nil for none.
func buildSwitch(s *switched) *build.Switch {
	if s == nil {
		return nil
	}
	return &build.Switch{Move: s.move, GOROOT: s.goroot}
}
