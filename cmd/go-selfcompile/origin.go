package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"

	"github.com/selfcompile/go-selfcompile/internal/store"
)

// origin is what this machine's default cache directory remembers of the
// binary name: whether a rebuild fetched it from a store or built and
// pushed it (store.Origin); nil when nothing. A fetched binary is the
// same bytes as the one built elsewhere, so the binary alone cannot say.
func origin(name string) *store.Origin {
	base, err := os.UserCacheDir()
	if err != nil {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil
	}
	return store.ReadOrigin(filepath.Join(base, "go-selfcompile"), hex.EncodeToString(h.Sum(nil)))
}

// describeOrigin says where a binary came from, for inspect's text.
func describeOrigin(o *store.Origin) string {
	s := "built here, pushed to " + quote(o.Location)
	if o.Fetched {
		s = "fetched from " + quote(o.Location)
	}
	if o.Signer != "" {
		s += ", signed by " + quote(o.Signer)
	}
	return s
}
