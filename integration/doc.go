// Package integration holds the end-to-end tests and benchmarks of
// go-selfcompile: binaries built with the real generator rebuild
// themselves with the bundled toolchain, fetching plugins from a module
// proxy served locally from the repository's testdata/mod, the test
// modules of every package. Cases that are a sequence of commands and
// expected outputs are testscript scripts in testdata/script (run by
// TestScripts); those that need Go logic (interrupt timing, concurrency,
// hosts built for the case, benchmarks) are Go tests. They need the e2e
// build tag:
//
//	go test -tags e2e ./integration/
//	go test -tags e2e -run '^$' -bench Rebuild -benchtime 1x ./integration/
package integration
