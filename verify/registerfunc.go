package verify

import (
	"fmt"
	"go/token"
	"go/types"
	"strings"
)

// registerFunc is one Config.RegisterFuncs entry, parsed.
type registerFunc struct {
	spec string // as given
	pkg  string // import path
	recv string // receiver type name; empty for a package-level function
	name string
}

func parseRegisterFuncs(specs []string) ([]registerFunc, error) {
	var funcs []registerFunc
	for _, s := range specs {
		f, err := parseRegisterFunc(s)
		if err != nil {
			return nil, err
		}
		funcs = append(funcs, f)
	}
	return funcs, nil
}

// parseRegisterFunc parses "import/path.Func" or
// "(*import/path.Type).Method"; see Config.RegisterFuncs.
func parseRegisterFunc(spec string) (registerFunc, error) {
	f := registerFunc{spec: spec}
	qual := spec
	if strings.HasPrefix(spec, "(") {
		end := strings.Index(spec, ").")
		if end < 0 {
			return f, badRegisterFunc(spec)
		}
		qual = strings.TrimPrefix(spec[1:end], "*")
		f.name = spec[end+2:]
	}
	i := strings.LastIndexByte(qual, '.')
	if i <= strings.LastIndexByte(qual, '/')+1 {
		return f, badRegisterFunc(spec)
	}
	if f.name == "" {
		f.pkg, f.name = qual[:i], qual[i+1:]
	} else {
		f.pkg, f.recv = qual[:i], qual[i+1:]
		if !token.IsIdentifier(f.recv) {
			return f, badRegisterFunc(spec)
		}
	}
	if !token.IsIdentifier(f.name) {
		return f, badRegisterFunc(spec)
	}
	return f, nil
}

func badRegisterFunc(spec string) error {
	return fmt.Errorf("verify: RegisterFuncs entry %q is neither import/path.Func nor (*import/path.Type).Method", spec)
}

// matchFunc returns the entry of funcs that names fn.
func matchFunc(funcs []registerFunc, fn *types.Func) (string, bool) {
	for _, f := range funcs {
		if f.matches(fn) {
			return f.spec, true
		}
	}
	return "", false
}

func (f registerFunc) matches(fn *types.Func) bool {
	if fn.Pkg() == nil || fn.Name() != f.name || fn.Pkg().Path() != f.pkg {
		return false
	}
	recv := fn.Signature().Recv()
	if recv == nil {
		return f.recv == ""
	}
	return f.recv != "" && recvName(recv.Type()) == f.recv
}

// recvName is the name of a method's receiver type, without pointer or
// type arguments.
func recvName(t types.Type) string {
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := types.Unalias(t).(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}
