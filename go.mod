module github.com/selfcompile/go-selfcompile

go 1.26.0

require (
	github.com/klauspost/compress v1.20.3
	golang.org/x/mod v0.42.0
)

require (
	github.com/gofrs/flock v0.13.2 // indirect
	github.com/hashicorp/go-version v1.9.0 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)
