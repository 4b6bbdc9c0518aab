package main

import (
	"fmt"
	"runtime/debug"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// stale compares a binary's VCS stamp (its build settings) with the tree
// its bundle m was made from; empty when they agree or cannot be
// compared.
func stale(m *bundle.Manifest, settings []debug.BuildSetting) string {
	return m.Source.StaleFrom(func(key string) string {
		for _, s := range settings {
			if s.Key == key {
				return s.Value
			}
		}
		return ""
	})
}

// describeSource says what a bundle was made from.
func describeSource(s *bundle.SourceStamp) string {
	if s.Revision == "" {
		return s.Digest + " (no VCS state to compare a binary's with)"
	}
	state := "clean"
	if s.Modified {
		state = "modified"
	}
	return fmt.Sprintf("%s, git %s (%s)", s.Digest, s.Revision, state)
}
