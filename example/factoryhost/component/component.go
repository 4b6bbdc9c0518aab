// Package component defines the kinds of components the factory host
// runs, as the OpenTelemetry Collector's processor and exporter packages
// define theirs: a plugin's constructor returns one of these factories.
package component

// ProcessorFactory makes a processor: a step that transforms each line.
type ProcessorFactory interface {
	Type() string
	Process(line string) string
}

// ExporterFactory makes an exporter: where the lines end up.
type ExporterFactory interface {
	Type() string
	Export(line string)
}
