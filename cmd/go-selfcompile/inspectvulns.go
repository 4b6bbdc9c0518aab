package main

import (
	"fmt"
	"io"
	"time"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// printVulnScan prints the rebuild's record of its vulnerability scan:
// the database, when, and the findings, or why the database could not
// be read; nothing when there was none (GOVULNDB=off).
func printVulnScan(w io.Writer, s *bundle.VulnScan) {
	if s == nil {
		return
	}
	if s.Error != "" {
		fmt.Fprintf(w, "  vulns\t%s could not be read: %s\n", quote(s.DB), quote(s.Error))
		return
	}
	n := len(s.Findings)
	what := "no known vulnerability"
	switch {
	case n == 1:
		what = "1 known vulnerability"
	case n > 1:
		what = fmt.Sprintf("%d known vulnerabilities", n)
	}
	fmt.Fprintf(w, "  vulns\t%s in the build list, per %s at %s\n", what, quote(s.DB), s.Time.UTC().Format(time.RFC3339))
	for _, f := range s.Findings {
		fmt.Fprintf(w, "  vuln\t%s\n", quote(f))
	}
}
