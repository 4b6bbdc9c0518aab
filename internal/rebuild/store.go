package rebuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/archive"
	"github.com/selfcompile/go-selfcompile/internal/build"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/modgen"
	"github.com/selfcompile/go-selfcompile/internal/rebuildkey"
	"github.com/selfcompile/go-selfcompile/internal/store"
	"github.com/selfcompile/go-selfcompile/internal/verify"
)

// This file is the store's part of a rebuild (Options.Store, package
// store): once modgen has resolved the build, the rebuild key is
// computed and looked up; a binary found is pulled, checked and
// smoke-tested instead of built (fetch), and one built here is pushed
// (push). The store never fails a rebuild: each of its failures is a
// warning, and the binary is built here.

// checkStore refuses, in prepare, a Store, TrustedKeys or SigningKey
// setting that cannot work.
func checkStore(job *helper.Job) error {
	if job.Store == "" {
		if len(job.TrustedKeys) > 0 || job.SigningKey != "" {
			return &verify.SettingError{Setting: "TrustedKeys and SigningKey", Msg: "need a store: set Options.Store too"}
		}
		return nil
	}
	if _, err := store.Open(job.Store); err != nil {
		return &verify.SettingError{Setting: "Store", Msg: err.Error()}
	}
	if _, err := store.ParseTrusted(job.TrustedKeys); err != nil {
		return &verify.SettingError{Setting: "TrustedKeys", Msg: err.Error()}
	}
	if job.SigningKey != "" {
		if _, err := store.LoadSigner(job.SigningKey); err != nil {
			return &verify.SettingError{Setting: "SigningKey", Msg: err.Error()}
		}
	}
	return nil
}

// fleet is the store's part of one rebuild; a nil *fleet uses no store.
type fleet struct {
	p       *pipeline
	st      *store.Store
	trusted []ssh.PublicKey
	signer  ssh.Signer
	key     string
	// found says the store had an artifact for key; refused that it was
	// refused (unsigned, or not what was asked), which a signed push
	// then replaces.
	found, refused bool
	// down says the registry could not be asked.
	down   bool
	result selfcompile.StoreResult
}

// openFleet computes the rebuild key and opens the store, or says in a
// warning why the store is not used: a dry run uses none, and a plugin
// from a local directory has no identity another machine shares.
func (p *pipeline) openFleet(src *sources, plan *modgen.Plan, previous string) *fleet {
	job := p.job
	if job.Store == "" || job.DryRun || plan == nil {
		return nil
	}
	for _, pl := range slices.Concat(plan.Plugins, src.manifest.Plugins) {
		if pl.Dir != "" {
			p.warn("store %s not used: the plugin %s is a local directory, which a rebuild key cannot name", job.Store, pl.Path)
			return nil
		}
	}
	f := &fleet{p: p}
	var err error
	if f.st, err = store.Open(job.Store); err == nil {
		f.trusted, err = store.ParseTrusted(job.TrustedKeys)
	}
	if err == nil && job.SigningKey != "" {
		f.signer, err = store.LoadSigner(job.SigningKey)
	}
	if err == nil {
		f.key, err = p.rebuildKey(src, plan, previous)
	}
	if err != nil {
		p.warn("store %s not used: %v", job.Store, redact(err))
		return nil
	}
	f.result.Key = f.key
	return f
}

// rebuildKey is the key of this rebuild (package rebuildkey): the
// toolchain is the one the build runs, read from its files.
func (p *pipeline) rebuildKey(src *sources, plan *modgen.Plan, previous string) (string, error) {
	m := src.manifest
	in := rebuildkey.Inputs{
		HostModule: m.Module, HostVersion: p.job.HostVersion, Previous: previous,
		Parts: map[string]string{}, GOOS: m.GOOS, GOARCH: m.GOARCH,
		Flags: src.settings.flags, RegisterFuncs: p.job.RegisterFuncs, Constructors: p.job.Constructors,
	}
	if m.Slim != nil {
		in.SlimToolchain = m.Slim.ToolchainSum
	}
	for name, part := range m.Parts {
		in.Parts[name] = part.SHA256
	}
	for _, pl := range keepConstructions(plan.Plugins, m.Plugins) {
		in.Plugins = append(in.Plugins, rebuildkey.Plugin{Path: pl.Path, Module: pl.Module, Version: pl.Version, Constructor: pl.Constructor, Register: pl.Register})
	}
	for _, kv := range src.settings.env {
		if k, _, _ := strings.Cut(kv, "="); buildEnv[k] || k == "GOFLAGS" {
			in.Env = append(in.Env, kv)
		}
	}
	var err error
	if in.GoMod, err = os.ReadFile(filepath.Join(src.tree.Module, "go.mod")); err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(src.tree.Module, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	in.GoSum = rebuildkey.SumLines(sum)
	if in.GoVersion, in.ToolchainSum, err = rebuildkey.ToolchainDigest(src.goroot); err != nil {
		return "", err
	}
	return in.Key(), nil
}

// keyOf is the rebuild key the new binary's record keeps; empty without
// a store.
func (f *fleet) keyOf() string {
	if f == nil {
		return ""
	}
	return f.key
}

// outcome is what Result.Store reports; nil without a store.
func (f *fleet) outcome() *selfcompile.StoreResult {
	if f == nil {
		return nil
	}
	r := f.result
	return &r
}

// fetch pulls the binary of this rebuild's key to the job's output, when
// the store has it and it passes every check; otherwise it warns why not
// (unless the store simply has none) and returns nil: build here.
func (f *fleet) fetch(ctx context.Context, src *sources, plan *modgen.Plan) *build.Output {
	if f == nil {
		return nil
	}
	start := time.Now()
	out, err := f.pull(ctx, src, plan)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		// A registry that could not be asked is not asked again to
		// take the push.
		var down *store.UnavailableError
		f.down = errors.As(err, &down)
		f.p.warn("store %s: %v: building here", f.st.Ref, redact(err))
		return nil
	}
	f.result.Fetched = true
	f.remember(out.sum)
	what := "fetched " + f.result.Location
	if f.result.Signer != "" {
		what += ", signed by " + f.result.Signer
	}
	f.p.storeUsed(fmt.Sprintf("%s (%s)", what, humanBytes(out.size)), time.Since(start))
	return out.Output
}

// pulled is a fetched binary with its size.
type pulled struct {
	*build.Output
	size int64
	sum  string // hex sha256
}

// pull looks the key up, checks the artifact's signature and record,
// pulls the binary and checks the bundle it carries against the request.
func (f *fleet) pull(ctx context.Context, src *sources, plan *modgen.Plan) (*pulled, error) {
	a, err := f.st.Lookup(ctx, f.key)
	if err != nil {
		return nil, err
	}
	f.found = true
	where := f.st.Location(a.Manifest)
	if len(f.trusted) > 0 {
		signer, err := f.st.Verify(ctx, f.trusted, f.key, a.Manifest)
		if err != nil {
			f.refused = true
			return nil, fmt.Errorf("refusing %s: %w", where, err)
		}
		f.result.Signer = signer
	}
	m := src.manifest
	if r := a.Record; r.GOOS != m.GOOS || r.GOARCH != m.GOARCH || !samePlugins(r.Plugins, plan.Plugins) {
		f.refused = true
		return nil, fmt.Errorf("refusing %s: its record is for %s/%s with %s, this rebuild asks for %s/%s with %s", where, r.GOOS, r.GOARCH, pluginList(r.Plugins), m.GOOS, m.GOARCH, pluginList(plan.Plugins))
	}
	name := f.p.job.Output
	if err := f.st.Pull(ctx, a, name); err != nil {
		return nil, err
	}
	got, err := bundle.ManifestInBinary(name)
	if err == nil {
		err = checkFetched(got, a.Record, f.key)
	}
	if err != nil {
		os.Remove(name)
		f.refused = true
		return nil, fmt.Errorf("refusing %s: %w", where, err)
	}
	f.result.Location = where
	out := &build.Output{Binary: name, Manifest: got}
	if dir, err := fetchedBundle(name, got, filepath.Join(f.p.job.Work, "fetched")); err == nil {
		out.BundleDir = dir
	} else {
		f.p.warn("a second rebuild from this process will start from its original bundle: %v", err)
	}
	return &pulled{Output: out, size: a.Binary.Size, sum: a.Binary.Digest.Encoded()}, nil
}

// checkFetched checks the bundle a fetched binary carries against its
// record: the same plugins and platform, made by a rebuild of key.
func checkFetched(m *bundle.Manifest, r store.Record, key string) error {
	switch {
	case m.Rebuild == nil || m.Rebuild.Key != key:
		return errors.New("the binary's bundle does not record this rebuild key")
	case m.GOOS != r.GOOS || m.GOARCH != r.GOARCH || m.Rebuild.GoVersion != r.GoVersion:
		return fmt.Errorf("the binary's bundle is for %s/%s by %s, its record says %s/%s by %s", m.GOOS, m.GOARCH, m.Rebuild.GoVersion, r.GOOS, r.GOARCH, r.GoVersion)
	case !samePlugins(m.Plugins, r.Plugins):
		return fmt.Errorf("the binary's bundle has %s, its record says %s", pluginList(m.Plugins), pluginList(r.Plugins))
	}
	return nil
}

// push pushes the binary built here, unless the store has one of this
// key already (the first push wins: see docs/fleet.md), and signs it
// with the signing key.
func (f *fleet) push(ctx context.Context, built *build.Output) {
	if f == nil || f.down || (f.found && !(f.refused && f.signer != nil)) {
		return
	}
	start := time.Now()
	if !f.refused {
		if _, err := f.st.Lookup(ctx, f.key); err == nil {
			return // another builder pushed it meanwhile
		}
	}
	part, err := archive.FilePart(built.Binary)
	if err != nil {
		f.p.warn("store %s: not pushed: %v", f.st.Ref, err)
		return
	}
	rec := store.Record{Key: f.key, GOOS: built.Manifest.GOOS, GOARCH: built.Manifest.GOARCH, Plugins: built.Manifest.Plugins, SHA256: part.SHA256, Size: part.Size}
	if r := built.Manifest.Rebuild; r != nil {
		rec.GoVersion = r.GoVersion
	}
	desc, err := f.st.Push(ctx, rec, built.Binary)
	if err != nil {
		f.p.warn("store %s: not pushed: %v", f.st.Ref, redact(err))
		return
	}
	f.result.Pushed, f.result.Location = true, f.st.Location(desc)
	what := "pushed " + f.result.Location
	if f.signer != nil {
		if err := f.st.Sign(ctx, f.signer, f.key, desc); err != nil {
			f.p.warn("store %s: pushed but not signed: %v", f.st.Ref, redact(err))
		} else {
			f.result.Signer = ssh.FingerprintSHA256(f.signer.PublicKey())
			what += ", signed by " + f.result.Signer
		}
	}
	f.remember(part.SHA256)
	f.p.storeUsed(fmt.Sprintf("%s (%s)", what, humanBytes(part.Size)), time.Since(start))
}

// remember records where the binary with sha256 sum came from, for
// go-selfcompile inspect on this machine (store.Origin).
func (f *fleet) remember(sum string) {
	o := store.Origin{Fetched: f.result.Fetched, Location: f.result.Location, Key: f.key, Signer: f.result.Signer}
	if err := store.WriteOrigin(f.p.job.Cache, sum, o); err != nil {
		f.p.warn("inspect will not say where the new binary came from: %v", err)
	}
}

func (p *pipeline) storeUsed(msg string, d time.Duration) {
	_ = p.w.Send(selfcompile.Event{Kind: selfcompile.StoreUsed, Stage: p.current(), Message: msg, Duration: d})
}
