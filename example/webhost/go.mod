module github.com/selfcompile/go-selfcompile/example/webhost

go 1.26.0

require (
	github.com/cloudflare/tableflip v1.2.3
	github.com/selfcompile/go-selfcompile v0.0.0
)

require (
	github.com/hashicorp/go-version v1.9.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)

tool github.com/selfcompile/go-selfcompile/cmd/go-selfcompile

replace github.com/selfcompile/go-selfcompile => ../..
