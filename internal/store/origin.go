package store

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// Origin is what a machine remembers of a binary a rebuild fetched from
// a store or pushed to it, in its cache directory under the binary's
// sha256 (OriginFile): the binary is the same bytes wherever it was
// built, so only the machine can say where its copy came from, for
// go-selfcompile inspect.
type Origin struct {
	Fetched  bool   `json:"fetched"` // pulled; otherwise built here and pushed
	Location string `json:"location"`
	Key      string `json:"key"`
	Signer   string `json:"signer,omitempty"`
}

// OriginFile is where the cache directory cache keeps the Origin of the
// binary with sha256 sum (hex).
func OriginFile(cache, sum string) string {
	return filepath.Join(cache, "store", "origin", sum+".json")
}

// WriteOrigin records o for the binary with sha256 sum.
func WriteOrigin(cache, sum string, o Origin) error {
	name := OriginFile(cache, sum)
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o600)
}

// ReadOrigin reads what the cache directory cache remembers of the
// binary with sha256 sum; nil when nothing.
func ReadOrigin(cache, sum string) *Origin {
	data, err := os.ReadFile(OriginFile(cache, sum))
	if err != nil || len(data) > 1<<16 {
		return nil
	}
	var o Origin
	if json.Unmarshal(data, &o) != nil {
		return nil
	}
	return &o
}
