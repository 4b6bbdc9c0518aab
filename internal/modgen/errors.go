package modgen

import (
	"errors"
	"fmt"
	"strings"

	"github.com/selfcompile/go-selfcompile/internal/gocmd"
)

// The classes of bad spec. A [SpecError] unwraps to one of them, so that
// callers can branch with errors.Is.
var (
	ErrMalformed  = errors.New("malformed plugin spec")
	ErrNoModule   = errors.New("no module provides the package")
	ErrNoPackage  = errors.New("module does not contain the package")
	ErrNoVersion  = errors.New("no such version")
	ErrNoMatch    = errors.New("no version satisfies the constraint")
	ErrMajor      = errors.New("major version mismatch")
	ErrLocalDir   = errors.New("unusable local directory")
	ErrRetracted  = errors.New("retracted version")
	ErrHostPkg    = errors.New("package of the host module")
	ErrNotAllowed = errors.New("not allowed by the install policy")
	ErrUnchecked  = errors.New("not checked against the checksum database")
	// ErrNeedsProxy: the module is in neither the bundle nor the module
	// cache, and GOPROXY=off forbids fetching it.
	ErrNeedsProxy = errors.New("needs the module proxy, which is off")
)

// SpecError reports a spec that cannot be used. Its message is one line
// that names the spec and says what to do.
type SpecError struct {
	Spec string // the spec as given
	Msg  string
	Err  error // the class of problem, one of the Err* values; may be nil
}

func (e *SpecError) Error() string { return fmt.Sprintf("plugin %q: %s", e.Spec, e.Msg) }

// Unwrap returns the class of problem.
func (e *SpecError) Unwrap() error { return e.Err }

func specErr(spec string, class error, format string, args ...any) *SpecError {
	return &SpecError{Spec: spec, Msg: fmt.Sprintf(format, args...), Err: class}
}

// NotInstalledError reports a removal of something the binary does not
// have.
type NotInstalledError struct {
	Path      string   // the module or package path asked to remove
	Installed []string // package paths of the installed plugins
}

func (e *NotInstalledError) Error() string {
	if len(e.Installed) == 0 {
		return fmt.Sprintf("cannot remove %s: no plugins are installed", e.Path)
	}
	return fmt.Sprintf("cannot remove %s: it is not installed (installed: %s)", e.Path, strings.Join(e.Installed, ", "))
}

// ConflictError reports two specs that ask one module at two versions: a
// build holds one version of each module.
type ConflictError struct {
	Module string
	Specs  [2]string // the two specs, as given
	Have   [2]string // what each resolved to: a version, or a directory
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("plugins %q and %q need module %s at %s and at %s: a build holds one version of a module, so ask both at the same version", e.Specs[0], e.Specs[1], e.Module, e.Have[0], e.Have[1])
}

// oneLine returns the first telling line of what the go command said,
// for messages that must fit on one line: progress lines such as
// "go: downloading m v1.0.0" are skipped.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ge *gocmd.Error
	if errors.As(err, &ge) && ge.Stderr != "" {
		msg = ge.Stderr
	}
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	for _, line := range lines {
		if !strings.HasPrefix(line, "go: downloading ") && !strings.HasPrefix(line, "go: finding ") {
			return strings.TrimPrefix(strings.TrimSpace(line), "go: ")
		}
	}
	return strings.TrimPrefix(lines[0], "go: ")
}
