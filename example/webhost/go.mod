module github.com/selfcompile/go-selfcompile/example/webhost

go 1.26.0

require (
	github.com/cloudflare/tableflip v1.2.3
	github.com/selfcompile/go-selfcompile v0.0.0
)

require (
	github.com/hashicorp/go-version v1.9.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/mod v0.43.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/telemetry v0.0.0-20261116191925-e77a43154acb // indirect
	golang.org/x/tools v0.53.0 // indirect
	golang.org/x/vuln v1.10.0 // indirect
	oras.land/oras-go/v2 v2.7.0 // indirect
)

tool github.com/selfcompile/go-selfcompile/cmd/go-selfcompile

replace github.com/selfcompile/go-selfcompile => ../..
