// Package vulns owns the vulnerability check of a rebuild and of
// "plugins audit": which database to read (GOVULNDB), running
// golang.org/x/vuln's scanner on a binary or on a build list, what its
// findings are, and which of them a rebuild brings (introduced). It runs
// in the helper only: hosts do not link it.
package vulns

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// EnvVar names the setting that chooses the database.
const EnvVar = "GOVULNDB"

// DefaultDB is the public Go vulnerability database, read when GOVULNDB
// is not set.
const DefaultDB = "https://vuln.go.dev"

// DB is a vulnerability database in the layout govulncheck reads (see
// https://go.dev/security/vuln/database#api): a file:// directory holding
// index/db.json, index/modules.json and ID/<ID>.json, or an https URL
// serving the same names with .json.gz.
type DB struct {
	// URL is the database's address, as given; empty when the check is
	// off.
	URL string
}

// Off reports whether the check is disabled (GOVULNDB=off).
func (d DB) Off() bool { return d.URL == "" }

// ParseDB reads a GOVULNDB value: empty means DefaultDB, "off" disables
// the check. A file:// URL must name an absolute directory; http:// is
// accepted on a loopback host only, since the database decides what is
// refused.
func ParseDB(value string) (DB, error) {
	switch value {
	case "":
		return DB{URL: DefaultDB}, nil
	case "off":
		return DB{}, nil
	}
	u, err := url.Parse(value)
	if err != nil {
		return DB{}, settingErrorf("%s=%s: %v; want a file:// directory, an https URL or off", EnvVar, Redact(value), redactErr(err, value))
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return DB{}, settingErrorf("%s=%s names no host; want a file:// directory, an https URL or off", EnvVar, Redact(value))
		}
	case "http":
		if !loopback(u.Hostname()) {
			return DB{}, settingErrorf("%s=%s: plain http is accepted on a loopback host only; use https", EnvVar, Redact(value))
		}
	case "file":
		if (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(filepath.FromSlash(u.Path)) {
			return DB{}, settingErrorf("%s=%s: a file URL must name an absolute directory, as file:///path/to/db", EnvVar, Redact(value))
		}
	default:
		return DB{}, settingErrorf("%s=%s: want a file:// directory, an https URL or off", EnvVar, Redact(value))
	}
	return DB{URL: strings.TrimRight(value, "/")}, nil
}

// Lookup is the GOVULNDB setting of a rebuild: the last one in env (the
// caller's Options.Env), else getenv's.
func Lookup(env []string, getenv func(string) string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], EnvVar+"="); ok {
			return v
		}
	}
	return getenv(EnvVar)
}

// Redacted is d's URL fit to print or store: any user information
// replaced.
func (d DB) Redacted() string {
	if d.Off() {
		return "off"
	}
	return Redact(d.URL)
}

// Redact hides the user information of a URL (a token or a password),
// keeping the rest; a string that does not parse as a URL with user
// information is returned as it is.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// A URL that does not parse may still hold a password.
		if at := strings.LastIndex(raw, "@"); at >= 0 {
			if i := strings.Index(raw, "://"); i >= 0 && i < at {
				return raw[:i+3] + "xxxxx" + raw[at:]
			}
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	u.User = url.User("xxxxx")
	return u.String()
}

// redactErr is err's message with the URL raw, which it may quote,
// redacted.
func redactErr(err error, raw string) string {
	return strings.ReplaceAll(err.Error(), raw, Redact(raw))
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SettingError is a GOVULNDB value that names no database.
type SettingError struct{ Msg string }

func (e *SettingError) Error() string { return e.Msg }

func settingErrorf(format string, args ...any) error {
	return &SettingError{Msg: fmt.Sprintf(format, args...)}
}
