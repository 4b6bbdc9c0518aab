package selfcompile

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A malformed Options.Toolchain is refused in prepare before the bundle
// is looked for, in one line naming it and the accepted forms; a
// toolchain alone is something to do.
func TestRunRefusesMalformedToolchainFirst(t *testing.T) {
	_, err := New(Options{Plugins: []string{"example.com/a"}, Toolchain: "1.26.9"}).Run(context.Background())
	var se *StageError
	var e *Error
	if !errors.As(err, &se) || se.Stage != StagePrepare || !errors.As(err, &e) || e.Kind != RefusedToolchain || !errors.Is(err, ErrRefused) {
		t.Fatalf("Run with Toolchain 1.26.9: %v, want a refusal of kind %q in prepare", err, RefusedToolchain)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, `toolchain "1.26.9": want "patch", "latest" or a Go release such as "go1.26.9"`) {
		t.Errorf("refusal %q: want one line naming the value and the forms", msg)
	}
	if errors.Is(err, ErrNoBundle) {
		t.Error("the bundle was looked for before the request was checked")
	}
	_, err = New(Options{Toolchain: "patch"}).Run(context.Background())
	if err == nil || strings.Contains(err.Error(), "nothing to do") {
		t.Errorf("Run with a toolchain alone: %v, want work to do (here, no bundle)", err)
	}
}
