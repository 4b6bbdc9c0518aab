package store

import (
	"encoding/base64"
	"strings"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// wrap breaks s into lines of 70 characters, as ssh-keygen armours a
// signature.
func wrap(s string) string {
	var b strings.Builder
	for len(s) > 70 {
		b.WriteString(s[:70] + "\n")
		s = s[70:]
	}
	b.WriteString(s + "\n")
	return b.String()
}
