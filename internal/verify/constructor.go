package verify

import (
	"fmt"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Construction is how a plugin that registers nothing from its init code
// is installed: the generated plugins file passes the result of its
// constructor to one of the host's registration functions, Register(Func()).
type Construction struct {
	// Func is the plugin package's exported constructor, e.g. "NewFactory".
	Func string `json:"func"`
	// Register is the Config.RegisterFuncs entry its result is passed
	// to, as given.
	Register string `json:"register"`
	// Type is the constructor's result type, as the plugin's source names
	// it (e.g. "processor.Factory"), for messages.
	Type string `json:"type,omitempty"`
}

// checkConstructors checks the shape of Config.Constructors: exported
// identifiers, which need registration functions to be passed to.
func checkConstructors(ctors []string, funcs []registerFunc) error {
	if len(ctors) == 0 {
		return nil
	}
	for _, c := range ctors {
		if !token.IsIdentifier(c) || !token.IsExported(c) {
			return &SettingError{Setting: "Constructors", Entry: c, Msg: "is not the name of an exported function, such as NewFactory: fix the host's Constructors (Options.Constructors)"}
		}
	}
	for _, f := range funcs {
		if f.recv == "" {
			return nil
		}
	}
	return &SettingError{Setting: "Constructors", Msg: strings.Join(ctors, ", ") + " need a package-level function among RegisterFuncs to pass their results to, such as example.com/host/registry.AddProcessor: fix the host's RegisterFuncs (Options.RegisterFuncs)"}
}

// candidate is a registration function a constructor's result may be
// passed to.
type candidate struct {
	ctor, register string
	result, param  types.Type
}

// construct finds the one registration function of funcs that takes the
// result of one of p's constructors (names): a function of one parameter
// to which the result is assignable. byPath holds the type-checked
// packages of the registration functions. It refuses p when no
// constructor fits any registration function, or when more than one pair
// fits.
func construct(p *packages.Package, names []string, funcs []registerFunc, byPath map[string]*packages.Package) (*Construction, error) {
	qual := func(pkg *types.Package) string { return pkg.Name() }
	var fits []candidate
	var notes []string
	for _, name := range names {
		result, why := constructorResult(p, name)
		if why != "" {
			notes = append(notes, why)
			continue
		}
		var takes []string
		for _, f := range funcs {
			param, ok := registerParam(f, byPath)
			if !ok {
				continue
			}
			if types.AssignableTo(result, param) {
				fits = append(fits, candidate{ctor: name, register: f.spec, result: result, param: param})
			} else {
				takes = append(takes, fmt.Sprintf("%s takes %s", f.spec, types.TypeString(param, qual)))
			}
		}
		if len(takes) > 0 {
			notes = append(notes, fmt.Sprintf("%s returns %s, which none of them takes (%s)", name, types.TypeString(result, qual), strings.Join(takes, "; ")))
		}
	}
	switch len(fits) {
	case 1:
		c := fits[0]
		return &Construction{Func: c.ctor, Register: c.register, Type: types.TypeString(c.result, qual)}, nil
	case 0:
		return nil, refuse(p, NoMatchingConstructor, "", "registers nothing from its init code, and no constructor of it fits the host's registration functions: %s. Choose a plugin of a kind this host registers, or add a registration function for it to the host's RegisterFuncs", strings.Join(notes, "; "))
	}
	var pairs []string
	for _, c := range fits {
		pairs = append(pairs, fmt.Sprintf("%s() %s to %s", c.ctor, types.TypeString(c.result, qual), c.register))
	}
	return nil, refuse(p, AmbiguousConstructor, "", "registers nothing from its init code, and its constructors fit more than one of the host's registration functions: %s. The host's RegisterFuncs must take each kind of component in one function only", strings.Join(pairs, ", "))
}

// constructorResult returns the result type of p's function name when it
// is a constructor (no type parameters, no parameters, one result), or
// why it is not.
func constructorResult(p *packages.Package, name string) (types.Type, string) {
	fn, ok := p.Types.Scope().Lookup(name).(*types.Func)
	if !ok {
		return nil, name + " is not a function"
	}
	sig := fn.Signature()
	switch {
	case sig.TypeParams().Len() > 0:
		return nil, name + " has type parameters"
	case sig.Params().Len() > 0:
		return nil, name + " takes parameters, and a constructor is called with none"
	case sig.Results().Len() != 1:
		return nil, fmt.Sprintf("%s returns %d values, and a constructor returns one", name, sig.Results().Len())
	}
	return sig.Results().At(0).Type(), ""
}

// registerParam returns the type of the one parameter of the
// package-level registration function f (the element type of a variadic
// one), when byPath has its package and it takes one.
func registerParam(f registerFunc, byPath map[string]*packages.Package) (types.Type, bool) {
	if f.recv != "" {
		return nil, false // a method needs a receiver the generated code does not have
	}
	rp := byPath[f.pkg]
	if rp == nil || rp.Types == nil {
		return nil, false
	}
	fn, ok := rp.Types.Scope().Lookup(f.name).(*types.Func)
	if !ok || fn.Signature().Params().Len() != 1 || fn.Signature().TypeParams().Len() > 0 {
		return nil, false
	}
	t := fn.Signature().Params().At(0).Type()
	if fn.Signature().Variadic() {
		t = t.(*types.Slice).Elem()
	}
	return t, true
}
