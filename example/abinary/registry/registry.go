// Package registry is where the example's plugins register themselves.
// It reports what is registered to go-selfcompile's smoke test.
package registry

import (
	"sort"
	"sync"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

var (
	mu    sync.Mutex
	names []string
)

func init() { selfcompile.ReportRegistrations(Names) }

// Register records a plugin by name. Plugins call it from init.
func Register(name string) {
	mu.Lock()
	defer mu.Unlock()
	names = append(names, name)
}

// Names returns the registered plugin names, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	out := append([]string(nil), names...)
	sort.Strings(out)
	return out
}
