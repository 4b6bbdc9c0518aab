package bundle

// Info is what the bundle a binary carries holds, as the generated
// selfcompile_bundle.go file passes it to package stub: the facts of the
// bundle's manifest a program needs, as Go values, so that it parses
// nothing.
type Info struct {
	// Format is the bundle format the generator wrote.
	Format int
	// GoVersion, GOOS and GOARCH are those of the bundled toolchain.
	GoVersion, GOOS, GOARCH string
	// MainPackage is the import path of the program's main package.
	MainPackage string
	// Plugins are the plugins the binary was built with.
	Plugins []Plugin
	// Platforms are every platform ("linux/arm64") of a bundle generated
	// for several (bundle -platforms), whose per-platform files are named
	// by PlatformFile; nil for a bundle of one platform. A binary built
	// for a platform the bundle lacks registers Platforms with no GOOS
	// and GOARCH, and refuses to rebuild.
	Platforms []string
	// Slim is set for a slim bundle (bundle -slim), which carries only the
	// host's source: a rebuild fetches the toolchain and the modules
	// through GOPROXY, and builds the helper.
	Slim *Fetch
}
