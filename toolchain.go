package selfcompile

import "github.com/selfcompile/go-selfcompile/bundle"

// nextToolchain updates info, the bundle a later Run from this process
// starts from, with the move to another Go t that the installed binary
// made (Options.Toolchain); it reports whether its toolchain part
// changed: a full bundle's carries the new toolchain, a slim one's
// records it to fetch.
func nextToolchain(info *bundle.Info, t *ToolchainMove) bool {
	if t == nil {
		return false
	}
	info.GoVersion = t.To
	if info.Slim != nil {
		f := *info.Slim
		f.Slim = bundle.Slim{Toolchain: t.Module, ToolchainSum: t.Sum}
		info.Slim = &f
		return false
	}
	return true
}
