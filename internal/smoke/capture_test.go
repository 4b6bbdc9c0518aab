package smoke

import (
	"bytes"
	"strings"
	"testing"
)

// TestCaptureBounded checks that endless output keeps memory bounded
// and that the report is still found after an over-long line, including
// as a last line without a newline.
func TestCaptureBounded(t *testing.T) {
	c := newCapture("NONCE")
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; i < 3*maxLine/len(chunk); i++ { // one line of 3 MiB
		c.Write(chunk)
	}
	c.Write([]byte("NONCE inside the long line\n"))
	c.Write([]byte(`{"go_selfcompile_smoke":"NONCE","plugins":[]}`))
	if len(c.line) > maxLine || cap(c.last) > 4*outputTail+len(chunk) {
		t.Errorf("line %d bytes, tail buffer %d bytes", len(c.line), cap(c.last))
	}
	rep, err := c.report()
	if err != nil || rep.Nonce != "NONCE" {
		t.Fatalf("report %+v, %v", rep, err)
	}
	tail := c.tail()
	if !strings.HasPrefix(tail, "...") || !strings.HasSuffix(tail, `"plugins":[]}`) || len(tail) > outputTail+3 {
		t.Errorf("tail %q", tail)
	}
}

func TestCaptureReportErrors(t *testing.T) {
	c := newCapture("NONCE")
	c.Write([]byte("plugin says NONCE {\n"))
	if _, err := c.report(); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("err = %v", err)
	}
	c = newCapture("NONCE")
	c.Write([]byte(`{"go_selfcompile_smoke":"other","note":"NONCE"}` + "\n"))
	if _, err := c.report(); err == nil || !strings.Contains(err.Error(), "wrong field") {
		t.Errorf("err = %v", err)
	}
}

func TestNewNames(t *testing.T) {
	got := newNames([]string{"a", "b", "a"}, []string{"a", "a", "a", "c", "b"})
	if strings.Join(got, ",") != "a,c" {
		t.Errorf("newNames = %q, want [a c]", got)
	}
}
