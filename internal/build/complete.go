package build

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/mod/module"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/modtrim"
	"github.com/selfcompile/go-selfcompile/internal/srctree"
	"github.com/selfcompile/go-selfcompile/internal/treeindex"
)

// A module cache records what trimming changes in the go command's
// assumptions:
//
//   - trimmedRecord, inside it, lists the modules ("path@version") it
//     holds only in part: those of the modules part it was unpacked from
//     that the bundle trimmed, less those completed since (see Completer).
//   - indexOffRecord, a file beside it (the module cache's path and this
//     suffix), when present, says that a module directory at this path has
//     held other files than it holds now. The
//     go command's module index (cmd/go/internal/modindex, kept in
//     GOCACHE) is keyed by a module directory's path alone: it assumes
//     that what lies in the module cache never changes, and would go on
//     reading a completed module as the trimmed one it indexed (its new
//     packages missing), or a module unpacked anew as whatever it held
//     before. So every go command on such a cache runs with
//     GODEBUG=goindex=0 (see GoEnv): correct, and about 0.3-0.5 s slower
//     per command for a host of Caddy's size. It is never removed: the
//     stale entries stay in the shared GOCACHE until the go command trims
//     them.
//   - seenRecord, beside it too, holds the digest of each trimmed
//     module's files as unpacked at this path, so that unpacking another
//     modules part there can tell whether a module changed (and the index
//     must go off) or holds the same files.
//
// The last two are files beside the module cache, not in it: they are
// about the go command's index in GOCACHE, which outlives the directory
// (unpacked anew, or removed as stale and made again later).
const (
	trimmedRecord  = ".selfcompile-trimmed"
	indexOffRecord = ".goindex-off"
	seenRecord     = ".seen"
	completeDir    = ".selfcompile-complete"
)

// GoEnv returns the settings the go command needs on the module cache
// modCache: GODEBUG=goindex=0 once one of its module directories changed
// in place. It is read at every go command (gocmd.Runner.EnvFunc), since
// a module is completed while a rebuild runs.
func GoEnv(modCache string) []string {
	if _, err := os.Stat(modCache + indexOffRecord); err == nil {
		return []string{"GODEBUG=goindex=0"}
	}
	return nil
}

// Completer completes the trimmed modules of a rebuild's module cache on
// demand (it is a modgen.Trimmed): it downloads the whole module through
// the user's GOPROXY into a scratch module cache, checks its h1: hash
// against the host's go.sum line (and the .ziphash the bundle carries),
// and puts it in place of the trimmed directory.
type Completer struct {
	// Go runs the go command with the user's fetching settings (GOPROXY,
	// GONOSUMDB, ...) and no -mod flag: it runs outside any module.
	Go *gocmd.Runner
	// ModCache is the module cache; GoSum the host's go.sum as bundled.
	ModCache string
	GoSum    []byte
	// Warn reports each module completed.
	Warn func(format string, args ...any)
}

// IsTrimmed reports whether mod@version lies trimmed in the module cache.
func (c *Completer) IsTrimmed(mod, version string) bool {
	return slices.Contains(readLines(filepath.Join(c.ModCache, trimmedRecord)), mod+"@"+version)
}

// Complete replaces the trimmed directory of mod@version with the whole
// module; pkg is the package that needs it.
func (c *Completer) Complete(ctx context.Context, mod, version, pkg string) error {
	fail := func(err error) error {
		return &modgen.IncompleteModuleError{Module: mod, Version: version, Package: pkg, Err: err}
	}
	want, err := c.wantSum(mod, version)
	if err != nil {
		return fail(err)
	}
	scratch := filepath.Join(c.ModCache, completeDir)
	if err := srctree.RemoveAll(scratch); err != nil {
		return fail(err)
	}
	defer srctree.RemoveAll(scratch)
	// The go command reports a failed download in the JSON on stdout. The
	// host's go.sum line is the root of trust, as it is for the go command
	// in the host's module, which asks no checksum database about a module
	// go.sum lists: so neither does this download (it runs outside any
	// module, where there is no go.sum), and its hash is compared with
	// that line below.
	nosumdb, _ := gocmd.Lookup(c.Go.Environ(), "GONOSUMDB")
	dl, err := c.Go.Download(ctx, gocmd.Invocation{
		Env: []string{
			"GOMODCACHE=" + filepath.Join(scratch, "mod"), "GOFLAGS=-modcacherw",
			"GONOSUMDB=" + strings.TrimPrefix(nosumdb+","+mod, ","),
		},
		WorkingDir: c.ModCache,
	}, mod+"@"+version)
	if err != nil {
		return fail(err)
	}
	if dl.Sum != want {
		return fail(fmt.Errorf("SECURITY ERROR: the module downloaded has hash %s, the host's go.sum says %s", dl.Sum, want))
	}
	key, err := modtrim.Key(module.Version{Path: mod, Version: version})
	if err != nil {
		return fail(err)
	}
	// The directory changes in place: the go command's index of it is
	// stale from now on, before anything else changes.
	if err := os.WriteFile(c.ModCache+indexOffRecord, nil, 0o644); err != nil {
		return fail(err)
	}
	target := filepath.Join(c.ModCache, filepath.FromSlash(key))
	old := filepath.Join(scratch, "trimmed")
	if err := os.Rename(target, old); err != nil && !os.IsNotExist(err) {
		return fail(err)
	}
	if err := os.Rename(dl.Dir, target); err != nil {
		return fail(err)
	}
	trimmed := slices.DeleteFunc(readLines(filepath.Join(c.ModCache, trimmedRecord)), func(s string) bool { return s == mod+"@"+version })
	if err := writeLines(filepath.Join(c.ModCache, trimmedRecord), trimmed); err != nil {
		return fail(err)
	}
	if err := treeindex.Update(filepath.Join(c.ModCache, modulesIndex), c.ModCache, modIndex); err != nil {
		return fail(err)
	}
	if c.Warn != nil {
		c.Warn("completed module %s@%s, which the bundle carried only in part, for %s: downloaded through GOPROXY and checked against go.sum (%s)", mod, version, pkg, want)
	}
	return nil
}

// wantSum is the h1: hash of mod@version's zip that the host's go.sum
// records, which must agree with the .ziphash the bundle carries.
func (c *Completer) wantSum(mod, version string) (string, error) {
	var want string
	for _, line := range strings.Split(string(c.GoSum), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == mod && f[1] == version {
			want = f[2]
		}
	}
	escPath, err1 := module.EscapePath(mod)
	escVer, err2 := module.EscapeVersion(version)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("bad module version %s@%s", mod, version)
	}
	zh, err := os.ReadFile(filepath.Join(c.ModCache, "cache", "download", filepath.FromSlash(escPath), "@v", escVer+".ziphash"))
	ziphash := strings.TrimSpace(string(zh))
	switch {
	case want == "" && err != nil:
		return "", fmt.Errorf("neither the host's go.sum nor the bundle records its hash")
	case want == "":
		return ziphash, nil
	case err == nil && ziphash != want:
		return "", fmt.Errorf("the host's go.sum (%s) and the bundle's .ziphash (%s) disagree", want, ziphash)
	}
	return want, nil
}

// moduleDigests returns, for each module of the module cache index file
// index, a digest of its files and their sums; nil when it cannot be read.
func moduleDigests(index string) map[string]string {
	sums, err := treeindex.Sums(index)
	if err != nil {
		return nil
	}
	lines := map[string][]string{}
	for rel, sum := range sums {
		if k := modtrim.ModuleKey(rel); k != "" {
			lines[k] = append(lines[k], rel+" "+sum)
		}
	}
	out := map[string]string{}
	for k, ls := range lines {
		sort.Strings(ls)
		h := sha256.Sum256([]byte(strings.Join(ls, "\n")))
		out[k] = hex.EncodeToString(h[:16])
	}
	return out
}

// previousState is what a module cache directory held before it is
// unpacked anew.
type previousState struct {
	existed  bool
	indexOff bool
	digests  map[string]string // module key -> digest, of every module; nil if unknown
	seen     map[string]string // module key -> digest, of every trimmed module it held
}

// readPrevious reads the records of the module cache dir before it is
// removed.
func readPrevious(dir string) previousState {
	var p previousState
	_, err := os.Stat(dir + indexOffRecord)
	p.indexOff = err == nil
	p.seen = map[string]string{}
	for _, line := range readLines(dir + seenRecord) {
		if k, d, ok := strings.Cut(line, " "); ok {
			p.seen[k] = d
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return p
	}
	p.existed = true
	p.digests = moduleDigests(filepath.Join(dir, modulesIndex))
	return p
}

// recordUnpacked writes the records of a module cache just unpacked from
// a modules part whose trimmed modules are trimmed, given what the
// directory held before. The index goes off (for good) when a module
// directory may now hold other files than the go command indexed at the
// same path: a trimmed module held before that is now different or gone
// (the go command may fetch it whole later), or a module trimmed now
// that was there before with other files.
func recordUnpacked(dir string, trimmed []string, prev previousState) error {
	digests := moduleDigests(filepath.Join(dir, modulesIndex))
	indexOff := prev.indexOff || (prev.existed && prev.digests == nil)
	seen := map[string]string{}
	for k, d := range prev.seen {
		seen[k] = d
		if digests[k] != d {
			indexOff = true
		}
	}
	for _, mv := range trimmed {
		m, v, _ := strings.Cut(mv, "@")
		k, err := modtrim.Key(module.Version{Path: m, Version: v})
		if err != nil {
			return err
		}
		if old, ok := prev.digests[k]; ok && old != digests[k] {
			indexOff = true
		}
		seen[k] = digests[k]
	}
	if indexOff {
		if err := os.WriteFile(dir+indexOffRecord, nil, 0o644); err != nil {
			return err
		}
	}
	var lines []string
	for k, d := range seen {
		lines = append(lines, k+" "+d)
	}
	sort.Strings(lines)
	if err := writeLines(dir+seenRecord, lines); err != nil {
		return err
	}
	return writeLines(filepath.Join(dir, trimmedRecord), trimmed)
}

func readLines(name string) []string {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func writeLines(name string, lines []string) error {
	data := strings.Join(lines, "\n")
	if len(lines) > 0 {
		data += "\n"
	}
	return os.WriteFile(name, []byte(data), 0o644)
}
