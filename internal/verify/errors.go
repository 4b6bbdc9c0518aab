package verify

import (
	"errors"
	"fmt"
)

// Reason says why a plugin was refused, so that callers can branch on it
// without parsing messages.
type Reason string

// The reasons a plugin is refused, in the order Plugins checks them.
const (
	// NeedsCgo: the plugin (or a package of its module that it imports)
	// has files that import "C" for this target and the build has cgo
	// off.
	NeedsCgo Reason = "needs-cgo"
	// NoCCompiler: the plugin needs cgo, cgo is on, and the C compiler
	// the go command would run is not found.
	NoCCompiler Reason = "no-c-compiler"
	// NotFound: the package does not exist at the resolved version.
	NotFound Reason = "not-found"
	// NoFiles: build constraints exclude every Go file of the package
	// for the target (GOOS, GOARCH, tags).
	NoFiles Reason = "no-files"
	// IsCommand: the package is package main.
	IsCommand Reason = "package-main"
	// TypeErrors: the package does not type-check for this build.
	TypeErrors Reason = "type-errors"
	// NoInitCode: the package has no func init with a body and no
	// package-level variable initialised by a function call.
	NoInitCode Reason = "no-init-code"
	// NoRegistration: Config.RegisterFuncs is set and no call to one of
	// them is reachable from the package's init code.
	NoRegistration Reason = "no-registration"
	// NoMatchingConstructor: the package registers nothing from its init
	// code, and none of its Config.Constructors returns what one of the
	// registration functions takes.
	NoMatchingConstructor Reason = "no-matching-constructor"
	// AmbiguousConstructor: the package's constructors fit more than one
	// registration function, and the generated code cannot choose.
	AmbiguousConstructor Reason = "ambiguous-constructor"
)

// PluginError is a plugin refused by Plugins. Its message is one
// paragraph: the plugin, the position where one exists, what is wrong and
// the fix.
type PluginError struct {
	Plugin  string // import path
	Version string // version of its module, when known
	Reason  Reason
	// Pos is the "file:line[:col]" position of the problem, its file
	// shortened to the last directory and name; empty when there is none
	// (a package that does not exist, a package with no init code).
	Pos string
	Msg string // the rest of the paragraph, after the plugin's name
}

func (e *PluginError) Error() string {
	name := e.Plugin
	if e.Version != "" {
		name += "@" + e.Version
	}
	return fmt.Sprintf("plugin %s %s", name, e.Msg)
}

// Refusals splits an error that Plugins returned into the refusals it
// holds, one per refused plugin. ok is false when err holds anything but
// refusals: a failure to check at all, which the caller reports as it is.
func Refusals(err error) (refused []*PluginError, ok bool) {
	if err == nil {
		return nil, true
	}
	errs := []error{err}
	if j, isJoin := err.(interface{ Unwrap() []error }); isJoin {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var pe *PluginError
		if !errors.As(e, &pe) {
			return nil, false
		}
		refused = append(refused, pe)
	}
	return refused, true
}

// SettingError is a host setting, Config.RegisterFuncs or
// Config.Constructors, that is malformed or names nothing in the host's
// build. It is the host author's to fix: no plugin is blamed for it.
type SettingError struct {
	Setting string // "RegisterFuncs" or "Constructors"
	Entry   string // the entry as given; empty when the setting as a whole is wrong
	Msg     string // what is wrong and what to do
}

func (e *SettingError) Error() string {
	if e.Entry == "" {
		return e.Setting + " " + e.Msg
	}
	return fmt.Sprintf("%s entry %q %s", e.Setting, e.Entry, e.Msg)
}
