// Package store owns a rebuild store: an OCI repository where one
// machine pushes the binary a rebuild made, under a tag named by its
// rebuild key (package rebuildkey), and where other machines asking for
// the same rebuild pull it instead of building (Options.Store). It speaks
// the registry protocol through oras-go, and signs and verifies what it
// pushes and pulls with SSH ed25519 keys (sign.go). Only the helper links
// it.
//
// An artifact is one OCI 1.1 image manifest of artifact type
// ArtifactType: its config is the rebuild's Record (JSON), its one layer
// the binary itself, uncompressed, so that the layer's digest is the
// binary's sha256. A signature is a referrer of that manifest.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// Media types of an artifact.
const (
	ArtifactType    = "application/vnd.selfcompile.binary.v1"
	RecordMediaType = "application/vnd.selfcompile.record.v1+json"
	BinaryMediaType = "application/vnd.selfcompile.binary.layer.v1"
)

// Bounds on what a registry may make this side read: a crafted registry
// must not cost unbounded memory.
const (
	maxManifest = 1 << 20
	maxRecord   = bundle.MaxManifestSize
	maxBinary   = 4 << 30
)

// RecordFormat is the format of Record this package writes and reads.
const RecordFormat = 1

// Record is an artifact's config: what the pushing rebuild made, checked
// by a puller against its own request. It holds nothing of the machine
// that pushed it (no time, no host name), so that two builders of one
// key push the same manifest.
type Record struct {
	Format    int             `json:"format"`
	Key       string          `json:"key"`
	GOOS      string          `json:"goos"`
	GOARCH    string          `json:"goarch"`
	GoVersion string          `json:"go_version"`
	Plugins   []bundle.Plugin `json:"plugins,omitempty"`
	SHA256    string          `json:"sha256"` // the binary's
	Size      int64           `json:"size"`
}

// Store is one OCI repository.
type Store struct {
	repo *remote.Repository
	// Ref is the repository reference as given, for messages; it never
	// holds credentials (a reference has no place for them).
	Ref string
}

// Open returns the store at ref, a repository reference such as
// "registry.example.com/org/myhost", with no tag or digest. It speaks
// HTTPS, or plain HTTP to a loopback address (localhost, 127.0.0.0/8,
// ::1), as the docker and oras clients do; credentials come from the
// Docker configuration ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json) and its credential helpers.
func Open(ref string) (*Store, error) {
	r, err := registry.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("store %q: %v: want a repository such as registry.example.com/org/name", ref, err)
	}
	if r.Reference != "" {
		return nil, fmt.Errorf("store %q names a tag or digest: give the repository alone; the rebuild key is the tag", ref)
	}
	repo := &remote.Repository{Reference: r, PlainHTTP: Loopback(r.Registry)}
	client := &auth.Client{
		Client: &http.Client{Transport: transport()},
		Cache:  auth.NewCache(),
	}
	client.SetUserAgent("go-selfcompile")
	if creds, err := credentials.NewStoreFromDocker(credentials.StoreOptions{}); err == nil {
		client.Credential = credentials.Credential(creds)
	}
	repo.Client = client
	return &Store{repo: repo, Ref: ref}, nil
}

// transport is the default transport with bounded waits for a registry
// that does not answer: a store is an optimisation, and a rebuild falls
// back to building when it fails.
func transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}

// Loopback reports whether host (with an optional port) is a loopback
// address, which a store may reach over plain HTTP.
func Loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Artifact is an artifact found in a store.
type Artifact struct {
	// Manifest is the artifact's manifest, Binary its layer.
	Manifest, Binary ocispec.Descriptor
	Record           Record
}

// ErrNotFound is returned by Lookup for a key the store has no artifact
// of.
var ErrNotFound = errors.New("not in the store")

// UnavailableError is a registry that could not be asked: unreachable,
// refusing the credentials, or failing.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Lookup finds the artifact tagged key, and reads and checks its
// manifest and record (their digests, and that the record is for key).
func (s *Store) Lookup(ctx context.Context, key string) (*Artifact, error) {
	desc, err := s.repo.Resolve(ctx, key)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, &UnavailableError{err}
	}
	data, err := s.fetch(ctx, desc, maxManifest)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %v", desc.Digest, err)
	}
	if m.ArtifactType != ArtifactType || m.Config.MediaType != RecordMediaType || len(m.Layers) != 1 || m.Layers[0].MediaType != BinaryMediaType {
		return nil, fmt.Errorf("manifest %s is not a go-selfcompile binary (artifact type %q)", desc.Digest, m.ArtifactType)
	}
	data, err = s.fetch(ctx, m.Config, maxRecord)
	if err != nil {
		return nil, err
	}
	a := &Artifact{Manifest: desc, Binary: m.Layers[0]}
	if err := json.Unmarshal(data, &a.Record); err != nil {
		return nil, fmt.Errorf("record %s: %v", m.Config.Digest, err)
	}
	switch r := a.Record; {
	case r.Format != RecordFormat:
		return nil, fmt.Errorf("record format %d, this go-selfcompile reads %d", r.Format, RecordFormat)
	case r.Key != key:
		return nil, fmt.Errorf("the artifact tagged %s records the key %s", key, r.Key)
	case "sha256:"+r.SHA256 != a.Binary.Digest.String() || r.Size != a.Binary.Size:
		return nil, fmt.Errorf("the record's binary (sha256 %s) is not the artifact's layer (%s)", r.SHA256, a.Binary.Digest)
	}
	return a, nil
}

// fetch reads the blob or manifest desc, at most limit bytes, checking
// its size and digest.
func (s *Store) fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a go-selfcompile store holds", desc.Digest, desc.Size, limit)
	}
	rc, err := s.repo.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return content.ReadAll(rc, desc)
}

// Pull writes a's binary to name (mode 0755), checking its digest as it
// goes; a binary that does not match is removed.
func (s *Store) Pull(ctx context.Context, a *Artifact, name string) (err error) {
	if a.Binary.Size > maxBinary {
		return fmt.Errorf("the binary is %d bytes: more than a go-selfcompile store holds", a.Binary.Size)
	}
	rc, err := s.repo.Fetch(ctx, a.Binary)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
		}
	}()
	vr := content.NewVerifyReader(rc, a.Binary)
	if _, err := io.Copy(f, vr); err != nil {
		return fmt.Errorf("the binary (%s): %w", a.Binary.Digest, err)
	}
	if err := vr.Verify(); err != nil {
		return fmt.Errorf("the binary (%s): %w", a.Binary.Digest, err)
	}
	return nil
}

// Push pushes the binary name with its record, tagged rec.Key, and
// returns the manifest's descriptor. The manifest holds no time, so that
// two builders of the same bytes push the same manifest.
func (s *Store) Push(ctx context.Context, rec Record, name string) (ocispec.Descriptor, error) {
	f, err := os.Open(name)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer f.Close()
	bin := ocispec.Descriptor{MediaType: BinaryMediaType, Digest: digest.Digest("sha256:" + rec.SHA256), Size: rec.Size}
	if err := s.pushBlob(ctx, bin, f); err != nil {
		return ocispec.Descriptor{}, err
	}
	rec.Format = RecordFormat
	recData, err := json.Marshal(rec)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	cfg := content.NewDescriptorFromBytes(RecordMediaType, recData)
	if err := s.pushBlob(ctx, cfg, bytes.NewReader(recData)); err != nil {
		return ocispec.Descriptor{}, err
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType, Config: cfg, Layers: []ocispec.Descriptor{bin},
		Annotations: map[string]string{"dev.selfcompile.key": rec.Key},
	}
	data, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, data)
	desc.ArtifactType = ArtifactType
	return desc, s.repo.PushReference(ctx, desc, bytes.NewReader(data), rec.Key)
}

// pushBlob pushes a blob the repository does not hold already.
func (s *Store) pushBlob(ctx context.Context, desc ocispec.Descriptor, r io.Reader) error {
	if ok, err := s.repo.Blobs().Exists(ctx, desc); err == nil && ok {
		return nil
	}
	err := s.repo.Blobs().Push(ctx, desc, r)
	if errors.Is(err, errdef.ErrAlreadyExists) {
		return nil
	}
	return err
}

// Location is where an artifact is, for messages and records:
// "REPOSITORY@DIGEST".
func (s *Store) Location(desc ocispec.Descriptor) string {
	return s.Ref + "@" + desc.Digest.String()
}
