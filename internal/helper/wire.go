package helper

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// The protocol's encoding is lines of words: a kind, then its fields, each
// a Go-quoted string (strconv.Quote), separated by single spaces:
//
//	message "Kind" "1" "Stage" "toolchain" "Duration" "3681000000"
//
// Quoting escapes everything that could break a line, and reading it
// needs only strconv: a host links no encoding package for the protocol.

// lineWriter writes lines. It is safe for concurrent use.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// line writes one line of kind and fields.
func (lw *lineWriter) line(kind string, fields ...string) error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	b := append(lw.buf[:0], kind...)
	for _, f := range fields {
		b = append(b, ' ')
		b = strconv.AppendQuote(b, f)
	}
	b = append(b, '\n')
	lw.buf = b
	_, err := lw.w.Write(b)
	return err
}

// lineReader reads lines.
type lineReader struct {
	sc *bufio.Scanner
}

func newLineReader(r io.Reader) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	return &lineReader{sc: sc}
}

// next returns the next line's kind and fields; io.EOF at the end.
func (lr *lineReader) next() (string, []string, error) {
	if !lr.sc.Scan() {
		if err := lr.sc.Err(); err != nil {
			return "", nil, err
		}
		return "", nil, io.EOF
	}
	return splitLine(lr.sc.Text())
}

// splitLine splits a line into its kind and unquoted fields.
func splitLine(line string) (string, []string, error) {
	kind, rest, _ := strings.Cut(line, " ")
	if kind == "" {
		return "", nil, fmt.Errorf("malformed line %.200q: no kind", line)
	}
	var fields []string
	for rest != "" {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return "", nil, fmt.Errorf("malformed line %.200q: %v", line, err)
		}
		f, err := strconv.Unquote(q)
		if err != nil {
			return "", nil, fmt.Errorf("malformed line %.200q: %v", line, err)
		}
		fields = append(fields, f)
		rest = strings.TrimPrefix(rest[len(q):], " ")
	}
	return kind, fields, nil
}

var errNoEnd = errors.New("the message ended early")
