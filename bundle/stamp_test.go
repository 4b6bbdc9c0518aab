package bundle

import (
	"strings"
	"testing"
)

func TestSourceStampStale(t *testing.T) {
	s := &SourceStamp{Revision: "0123456789abcdef", Digest: "d"}
	tests := []struct {
		rev      string
		modified bool
		want     string // in the answer; empty: agree
	}{
		{"0123456789abcdef", false, ""},
		{"", true, ""}, // no stamp: cannot tell
		{"fedcba9876543210", false, "built from revision fedcba987654, its bundle from revision 0123456789ab"},
		{"0123456789abcdef", true, "modified tree at revision 0123456789ab"},
	}
	for _, tt := range tests {
		got := s.Stale(tt.rev, tt.modified)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("Stale(%q, %v) = %q, want %q", tt.rev, tt.modified, got, tt.want)
		}
	}
	if got := (*SourceStamp)(nil).Stale("x", true); got != "" {
		t.Errorf("nil stamp: %q", got)
	}
	dirty := &SourceStamp{Revision: "0123456789abcdef", Modified: true}
	if got := dirty.Stale("0123456789abcdef", true); got != "" {
		t.Errorf("both modified (cannot tell): %q", got)
	}
}
