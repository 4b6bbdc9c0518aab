// Package registry holds the factory host's components: those it is
// built with and those go-selfcompile installs, whose constructors the
// rebuilt binary passes to AddProcessor or AddExporter.
package registry

import (
	"sort"
	"sync"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/example/factoryhost/component"
)

var (
	mu         sync.Mutex
	processors []component.ProcessorFactory
	exporters  []component.ExporterFactory
)

func init() { selfcompile.ReportRegistrations(Names) }

// AddProcessor adds a processor factory.
func AddProcessor(f component.ProcessorFactory) {
	mu.Lock()
	defer mu.Unlock()
	processors = append(processors, f)
}

// AddExporter adds an exporter factory.
func AddExporter(f component.ExporterFactory) {
	mu.Lock()
	defer mu.Unlock()
	exporters = append(exporters, f)
}

// Processors returns the processor factories, in the order added.
func Processors() []component.ProcessorFactory {
	mu.Lock()
	defer mu.Unlock()
	return append([]component.ProcessorFactory(nil), processors...)
}

// Exporters returns the exporter factories, in the order added.
func Exporters() []component.ExporterFactory {
	mu.Lock()
	defer mu.Unlock()
	return append([]component.ExporterFactory(nil), exporters...)
}

// Names returns "processor/TYPE" and "exporter/TYPE" for every component,
// sorted: what the smoke test reports as registered.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	var names []string
	for _, p := range processors {
		names = append(names, "processor/"+p.Type())
	}
	for _, e := range exporters {
		names = append(names, "exporter/"+e.Type())
	}
	sort.Strings(names)
	return names
}
