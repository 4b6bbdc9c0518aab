package smoke

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// outputTail is how much of a binary's output an Error quotes.
const outputTail = 2 << 10

// maxLine is the longest line searched for the smoke report; a binary
// that prints without end must not grow memory without end.
const maxLine = 1 << 20

// capture is the writer a binary's stdout and stderr go to. It keeps what
// Check needs, in bounded memory: the first complete line that carries
// the nonce, the first line of a crash, and the tail of the output.
type capture struct {
	mu      sync.Mutex
	nonce   []byte
	line    []byte // the line being written, up to maxLine
	long    bool   // the line being written is longer than maxLine
	found   []byte // first line that carries the nonce
	crash   string // first "panic: " or "fatal error: " line
	last    []byte // at most 2*outputTail bytes, the end of the output
	written int64
}

func newCapture(nonce string) *capture {
	return &capture{nonce: []byte(nonce)}
}

// Write records p; it never fails.
func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written += int64(len(p))
	c.keepTail(p)
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			c.addToLine(rest)
			break
		}
		c.addToLine(rest[:i])
		c.endLine()
		rest = rest[i+1:]
	}
	return len(p), nil
}

func (c *capture) keepTail(p []byte) {
	if len(p) > outputTail {
		p = p[len(p)-outputTail:]
	}
	c.last = append(c.last, p...)
	if len(c.last) > 2*outputTail {
		c.last = append(c.last[:0], c.last[len(c.last)-outputTail:]...)
	}
}

func (c *capture) addToLine(p []byte) {
	if c.long || len(c.line)+len(p) > maxLine {
		c.long, c.line = true, c.line[:0]
		return
	}
	c.line = append(c.line, p...)
}

func (c *capture) endLine() {
	line := bytes.TrimRight(c.line, "\r")
	switch {
	case c.long:
	case c.found == nil && len(c.nonce) > 0 && bytes.Contains(line, c.nonce):
		c.found = append([]byte(nil), line...)
	case c.crash == "" && (bytes.HasPrefix(line, []byte("panic: ")) || bytes.HasPrefix(line, []byte("fatal error: "))):
		c.crash = string(line)
	}
	c.line, c.long = c.line[:0], false
}

// report returns the smoke report the binary printed. A last line
// without a newline counts.
func (c *capture) report() (*Report, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.line) > 0 {
		c.endLine()
	}
	if c.found == nil {
		return nil, errors.New("it exited 0 without writing the smoke report: a plugin's init may have exited early, or the binary was not built with the go-selfcompile bundle")
	}
	return parseReport(c.found, string(c.nonce))
}

// panicLine is the first line of a Go crash the binary printed, or "".
func (c *capture) panicLine() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crash
}

// tail is the end of the output, at most outputTail bytes of printable
// text (invalid UTF-8 and control characters other than newline and tab
// become U+FFFD), trimmed, with "..." in front when it is cut.
func (c *capture) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.Map(printable, strings.ToValidUTF8(string(c.last), "\uFFFD"))
	cut := c.written > int64(len(c.last))
	for len(s) > outputTail {
		_, size := utf8.DecodeRuneInString(s)
		s, cut = s[size:], true
	}
	s = strings.TrimSpace(s)
	if cut && s != "" {
		s = "..." + s
	}
	return s
}

func printable(r rune) rune {
	if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
		return '\uFFFD'
	}
	return r
}
