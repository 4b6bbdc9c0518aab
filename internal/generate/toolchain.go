package generate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/toolchain"
)

// toolchainFileSet names the file set toolchain.Files picks, in the
// cache key of built archives: change it when Files changes.
const toolchainFileSet = "f2"

// cachedArchive is a toolchain archive in the generator's cache.
type cachedArchive struct {
	path     string
	part     bundle.Part
	cached   bool   // reused from the cache
	replaced string // a cache entry that failed verification, rebuilt
	note     string // where it came from and what compressed it, for the report
}

// toolchainArchive returns the trimmed toolchain archive for p, building
// it into the cache on first use: from the local GOROOT for its own
// platform, with the go command and tools built from its source for any
// other (buildTools). A cached archive is reused only when its content
// still has the checksum recorded beside it: a corrupt entry would
// otherwise ship in every bundle made from it.
func (g *generator) toolchainArchive(ctx context.Context, p platform, pgo bool, tmp string) (*cachedArchive, error) {
	zstdCmd, zstdVersion, err := g.zstdCommand(ctx)
	if err != nil {
		return nil, err
	}
	compressor := "zstd package"
	key := fmt.Sprintf("%s-%s-%s-%s-l%d-w%d", g.env.GOVERSION, p.goos, p.goarch, toolchainFileSet, g.opts.Level, archive.LongWindow>>20)
	native := p.goos == g.env.GOHOSTOS && p.goarch == g.env.GOHOSTARCH
	origin := "from " + g.env.GOROOT
	if !native {
		key += "-" + toolsBuild
		origin = "built from the source of " + g.env.GOROOT
	}
	if zstdCmd != "" {
		compressor = zstdVersion
		sum := sha256.Sum256([]byte(zstdVersion))
		key += "-zstd" + hex.EncodeToString(sum[:4])
	}
	if pgo {
		key += "-pgo"
	}
	dir := filepath.Join(g.opts.CacheDir, "archives")
	tc := &cachedArchive{path: filepath.Join(dir, "toolchain-"+key+".tar.zst")}
	sumFile := tc.path + ".json"
	if data, err := os.ReadFile(sumFile); err == nil {
		var want bundle.Part
		if json.Unmarshal(data, &want) == nil {
			if got, err := archive.FilePart(tc.path); err == nil && got == want {
				tc.part, tc.cached, tc.note = want, true, "cached, "+compressor
				return tc, nil
			}
		}
		tc.replaced = tc.path
	}
	bins := g.env.GOROOT
	if !native {
		bins = filepath.Join(tmp, "tools-"+p.goos+"_"+p.goarch)
		if err := g.buildTools(ctx, p, pgo, bins); err != nil {
			return nil, err
		}
	}
	entries, err := toolchain.Files(g.env.GOROOT, bins, p.goos, p.goarch, pgo)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if zstdCmd != "" {
		tc.part, err = compressWithCommand(ctx, tc.path, entries, zstdCmd)
	} else {
		tc.part, err = writeArchiveFile(tc.path, entries, g.opts.Level)
	}
	if err != nil {
		return nil, err
	}
	data, _ := json.Marshal(tc.part)
	if err := bundle.WriteFileAtomic(sumFile, data, 0o644); err != nil {
		return nil, err
	}
	tc.note = origin + ", " + compressor
	return tc, nil
}

// toolsBuild names how buildTools builds another platform's executables,
// in the cache key of their archives: change it when buildTools changes.
const toolsBuild = "src1"

// buildTools builds the go command and the tools a toolchain for p
// carries (toolchain.Tools, and toolchain.PGOTools with pgo) from the
// source of the local GOROOT with its own go command, into dir laid out
// as a GOROOT: dir/bin/go and dir/pkg/tool/GOOS_GOARCH/. That is how the
// release's own make.bash and distpack make another platform's toolchain:
// the same source and version, compiled for the target, with the
// release's defaults (the generated internal/buildcfg constants are not
// per platform). The executables are static (CGO_ENABLED=0) and built
// -trimpath, without symbol tables: the go command finds its GOROOT from
// its own path. About a minute per platform on two cores, once per Go
// version: the archive is cached.
func (g *generator) buildTools(ctx context.Context, p platform, pgo bool, dir string) error {
	exe := ""
	if p.goos == "windows" {
		exe = ".exe"
	}
	var pkgs []string
	for _, t := range toolchain.Tools {
		pkgs = append(pkgs, "cmd/"+t)
	}
	if pgo {
		for _, t := range toolchain.PGOTools {
			pkgs = append(pkgs, "cmd/"+t)
		}
	}
	// Settings of the machine running the generator must not shape the
	// toolchain every user of the bundle runs.
	env := append(p.env(), "CGO_ENABLED=0", "GOFLAGS=", "GOEXPERIMENT=", "GOWORK=off", "GOTOOLCHAIN=local",
		"GOAMD64=", "GOARM=", "GOARM64=", "GO386=", "GOMIPS=", "GOMIPS64=", "GOPPC64=", "GORISCV64=", "GOWASM=")
	src := filepath.Join(g.env.GOROOT, "src")
	tools := filepath.Join(dir, "pkg", "tool", p.goos+"_"+p.goarch) + string(filepath.Separator)
	for _, build := range [][]string{
		append([]string{"-trimpath", "-ldflags=-s -w", "-o", tools}, pkgs...),
		{"-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "bin", "go"+exe), "cmd/go"},
	} {
		if _, err := g.run.Run(ctx, gocmd.Invocation{Verb: "build", Args: build, Env: env, WorkingDir: src}); err != nil {
			return fmt.Errorf("building the %s toolchain from the source in %s: %w", p, g.env.GOROOT, err)
		}
	}
	return nil
}

// toolchainModule looks up, with the go command and the user's settings
// (GOPROXY, GOSUMDB), the golang.org/toolchain module version a slim
// bundle for p fetches, and its checksum: go mod download checks it
// against the checksum database.
func (g *generator) toolchainModule(ctx context.Context, p platform, tmp string) (*bundle.Slim, error) {
	version := toolchain.ModuleVersion(g.env.GOVERSION, p.goos, p.goarch)
	// A failure is in the go command's own words (gocmd.DownloadError).
	dl, err := g.run.Download(ctx, gocmd.Invocation{WorkingDir: tmp, Env: []string{"GOFLAGS=-modcacherw"}}, toolchain.ModulePath+"@"+version)
	if err == nil && dl.Sum == "" {
		err = errors.New("no checksum")
	}
	if err != nil {
		return nil, fmt.Errorf("-slim: the %s toolchain %s@%s is not available through GOPROXY (%v): bundle that platform in full (without -slim)", p, toolchain.ModulePath, version, err)
	}
	return &bundle.Slim{Toolchain: version, ToolchainSum: dl.Sum}, nil
}

// stdCacheEntries compiles the standard packages the main package uses
// on p into an empty build cache, with the go command that the bundle
// carries (the toolchain is this one, or for another platform the same
// version built from the same source: the compiler's output, and so the
// cache keys, are the same), and lists that cache's entries.
func (g *generator) stdCacheEntries(ctx context.Context, tmp, mainPkg string, p platform) ([]bundle.Entry, error) {
	out, err := g.run.Run(ctx, gocmd.Invocation{Verb: "list", Args: []string{"-deps", "-f", "{{if .Standard}}{{.ImportPath}}{{end}}", mainPkg}, Env: p.env(), WorkingDir: g.dir})
	if err != nil {
		return nil, fmt.Errorf("listing the standard packages to pre-warm for %s: %w", p, err)
	}
	cache := filepath.Join(tmp, "gocache-"+p.goos+"_"+p.goarch)
	args := append([]string{}, strings.Fields(string(out))...)
	if _, err := g.run.Run(ctx, gocmd.Invocation{Verb: "build", Args: args, Env: append(p.env(), "GOCACHE="+cache), WorkingDir: g.dir}); err != nil {
		return nil, fmt.Errorf("compiling the standard packages to pre-warm: %w", err)
	}
	var entries []bundle.Entry
	err = filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(cache, p)
		if rel == "README" || rel == "trim.txt" {
			return nil
		}
		entries = append(entries, bundle.Entry{Name: filepath.ToSlash(rel), Src: p})
		return nil
	})
	return entries, err
}
