// Package aplugin is the example plugin: importing it registers it with
// the example binary.
package aplugin

import (
	"fmt"

	"github.com/selfcompile/go-selfcompile/example/abinary/registry"
)

func init() {
	fmt.Println("aplugin activated.")
	registry.Register("aplugin")
}
