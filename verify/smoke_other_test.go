//go:build !linux

package verify

import "testing"

// checkChildGone needs /proc; elsewhere Smoke returning is the test.
func checkChildGone(*testing.T, string) {}
