package selfcompile

import "path/filepath"

// absPath is name made absolute against the working directory, for the
// helper, which runs elsewhere; empty stays empty.
func absPath(name string) string {
	if name == "" {
		return ""
	}
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return name
}
