package smoke

import (
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/selfcompile/go-selfcompile/bundle"
)

// Requested reports whether this process was started in smoke mode, and
// with which nonce.
func Requested() (nonce string, ok bool) { return os.LookupEnv(Env) }

// Write writes rep as the smoke line: a JSON object on a line of its own
// (a plugin's init may have left a partial line on stdout). It runs in
// every host, so it encodes the few fields itself rather than link an
// encoding package; Check decodes it with encoding/json.
func Write(w io.Writer, rep Report) error {
	b := []byte("\n{\"go_selfcompile_smoke\":")
	b = appendString(b, rep.Nonce)
	if rep.GoVersion != "" {
		b = append(b, ",\"go_version\":"...)
		b = appendString(b, rep.GoVersion)
	}
	b = append(b, ",\"plugins\":["...)
	for i, p := range rep.Plugins {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPlugin(b, p)
	}
	b = append(b, ']')
	if len(rep.Registered) > 0 {
		b = append(b, ",\"registered\":["...)
		for i, r := range rep.Registered {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, r)
		}
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	_, err := w.Write(b)
	return err
}

// appendPlugin encodes p as encoding/json would, with bundle.Plugin's
// field names.
func appendPlugin(b []byte, p bundle.Plugin) []byte {
	b = append(b, "{\"path\":"...)
	b = appendString(b, p.Path)
	for _, f := range []struct{ name, val string }{{"module", p.Module}, {"version", p.Version}, {"query", p.Query}, {"dir", p.Dir}} {
		if f.val != "" {
			b = append(b, ",\""+f.name+"\":"...)
			b = appendString(b, f.val)
		}
	}
	return append(b, '}')
}

// appendString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u`...)
			b = strconv.AppendInt(b, int64(r), 16)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
