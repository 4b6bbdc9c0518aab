package vulns

import (
	"context"
	"errors"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// testDB is the repository's test database (testdata/vulndb): one
// made-up entry, GO-2099-0001, for example.com/aplugin below v1.2.0.
func testDB(t *testing.T) DB {
	t.Helper()
	dir, err := filepath.Abs("../../testdata/vulndb")
	if err != nil {
		t.Fatal(err)
	}
	db, err := ParseDB("file://" + filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestParseDB(t *testing.T) {
	for _, c := range []struct{ in, url, bad string }{
		{"", DefaultDB, ""},
		{"off", "", ""},
		{"https://vuln.example.com/db/", "https://vuln.example.com/db", ""},
		{"file:///srv/vulndb", "file:///srv/vulndb", ""},
		{"http://127.0.0.1:8080/db", "http://127.0.0.1:8080/db", ""},
		{"http://vuln.example.com", "", "loopback"},
		{"file://relative/db", "", "absolute"},
		{"ftp://x/db", "", "want a file://"},
		{"/srv/vulndb", "", "want a file://"},
		{"https:///db", "", "names no host"},
		{"https://user:s3cret@vuln.example.com/%zz", "", "want a file://"},
	} {
		db, err := ParseDB(c.in)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("ParseDB(%q): %v", c.in, err)
		case c.bad == "" && db.URL != c.url:
			t.Errorf("ParseDB(%q) = %q, want %q", c.in, db.URL, c.url)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("ParseDB(%q) = %v, want an error saying %q", c.in, err, c.bad)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("ParseDB(%q) prints the password: %v", c.in, err)
		}
		var se *SettingError
		if err != nil && !errors.As(err, &se) {
			t.Errorf("ParseDB(%q): %T is not a *SettingError", c.in, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@vuln.example.com/db": "https://xxxxx@vuln.example.com/db",
		"https://tok3n@vuln.example.com":          "https://xxxxx@vuln.example.com",
		"https://vuln.go.dev":                     "https://vuln.go.dev",
		"https://u:s3cret@h/%zz":                  "https://xxxxx@h/%zz",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (DB{}).Redacted(); got != "off" {
		t.Errorf("the redacted off database is %q", got)
	}
}

func TestLookup(t *testing.T) {
	getenv := func(k string) string { return "from-process" }
	if got := Lookup([]string{"GOVULNDB=a", "GOPROXY=x", "GOVULNDB=b"}, getenv); got != "b" {
		t.Errorf("Lookup took %q, want the last of Env", got)
	}
	if got := Lookup([]string{"GOPROXY=x"}, getenv); got != "from-process" {
		t.Errorf("Lookup took %q, want the process's", got)
	}
}

// stream is govulncheck's JSON output (protocol v1.0.0) for a binary
// with two vulnerabilities: GO-2099-0001 reachable (module, package,
// then symbol findings), GO-2099-0002 of the module alone, and a
// standard-library one.
const stream = `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck","db":"file:///db"}}
{"progress":{"message":"Scanning your binary for known vulnerabilities..."}}
{"osv":{"id":"GO-2099-0001","summary":"first","affected":[{"package":{"name":"example.com/a"}}]}}
{"osv":{"id":"GO-2099-0002","summary":"second"}}
{"osv":{"id":"GO-2099-0003","summary":"std"}}
{"finding":{"osv":"GO-2099-0001","fixed_version":"v1.2.0","trace":[{"module":"example.com/a","version":"v1.0.0"}]}}
{"finding":{"osv":"GO-2099-0002","trace":[{"module":"example.com/b","version":"v0.1.0"}]}}
{"finding":{"osv":"GO-2099-0001","fixed_version":"v1.2.0","trace":[{"module":"example.com/a","version":"v1.0.0","package":"example.com/a"}]}}
{"finding":{"osv":"GO-2099-0001","fixed_version":"v1.2.0","trace":[{"module":"example.com/a","version":"v1.0.0","package":"example.com/a","function":"Parse"},{"module":"example.com/main","function":"main"}]}}
{"finding":{"osv":"GO-2099-0003","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"Serve"}]}}
`

func TestParse(t *testing.T) {
	rep, err := Parse(strings.NewReader(stream), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{ID: "GO-2099-0001", Module: "example.com/a", Version: "v1.0.0", Fixed: "v1.2.0", Summary: "first", Reachable: true},
		{ID: "GO-2099-0002", Module: "example.com/b", Version: "v0.1.0", Summary: "second"},
		{ID: "GO-2099-0003", Module: "stdlib", Version: "v1.26.8", Fixed: "v1.26.9", Summary: "std", Reachable: true},
	}
	if len(rep.Findings) != len(want) {
		t.Fatalf("findings %+v, want %+v", rep.Findings, want)
	}
	for i := range want {
		if rep.Findings[i] != want[i] {
			t.Errorf("finding %d: %+v, want %+v", i, rep.Findings[i], want[i])
		}
	}
	if _, err := Parse(strings.NewReader(`{"finding":`), nil); err == nil {
		t.Error("a truncated stream parsed")
	}
}

func TestIntroduced(t *testing.T) {
	before := BuildOf(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/host", Version: "v1.0.0"}, Deps: []*debug.Module{
		{Path: "example.com/a", Version: "v1.0.0"},
		{Path: "example.com/r", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/r", Version: "v1.0.1"}},
	}})
	for _, c := range []struct {
		f    Finding
		goV  string
		want bool
	}{
		{Finding{Module: "example.com/a", Version: "v1.0.0"}, "go1.26.8", false},
		{Finding{Module: "example.com/a", Version: "v1.1.0"}, "go1.26.8", true},
		{Finding{Module: "example.com/new", Version: "v0.1.0"}, "go1.26.8", true},
		{Finding{Module: "example.com/r", Version: "v1.0.1"}, "go1.26.8", false},
		{Finding{Module: "example.com/host", Version: "v1.0.0"}, "go1.26.8", false},
		{Finding{Module: "stdlib", Version: "v1.26.8"}, "go1.26.8", false},
		{Finding{Module: "stdlib", Version: "v1.26.9"}, "go1.26.9", true},
		{Finding{Module: "toolchain", Version: "v1.26.9"}, "go1.26.9", true},
	} {
		if got := before.Introduced(c.f, c.goV); got != c.want {
			t.Errorf("Introduced(%+v, %s) = %v, want %v", c.f, c.goV, got, c.want)
		}
	}
	if !BuildOf(nil).Introduced(Finding{Module: "example.com/a", Version: "v1.0.0"}, "go1.26.8") {
		t.Error("a finding is not new to a binary whose build is unknown")
	}
}

func TestDecide(t *testing.T) {
	reach := Finding{ID: "GO-2099-0001", Module: "example.com/a", Version: "v1.0.0", Fixed: "v1.2.0", Reachable: true}
	modOnly := Finding{ID: "GO-2099-0002", Module: "example.com/b", Version: "v0.1.0"}
	all := []Finding{modOnly, reach}
	if err := Decide(Warn, all, []bool{true, true}); err != nil {
		t.Errorf("Warn refused: %v", err)
	}
	if err := Decide(Refuse, all, []bool{true, false}); err != nil {
		t.Errorf("Refuse refused what the running binary has already, or a module-only finding: %v", err)
	}
	err := Decide(Refuse, all, []bool{true, true})
	var re *RefusedError
	if !errors.As(err, &re) || re.Finding.ID != reach.ID {
		t.Fatalf("Refuse: %v, want a refusal of %s", err, reach.ID)
	}
	for _, s := range []string{"GO-2099-0001", "example.com/a@v1.0.0", "fixed in v1.2.0", "RefuseVulns"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("refusal %q does not say %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("refusal %q is more than one line", err)
	}
}

func TestSemverOfGo(t *testing.T) {
	for in, want := range map[string]string{"go1.26.8": "v1.26.8", "go1.26": "v1.26.0", "go1.27rc1": "v1.27.0-rc.1", "devel": "", "go1.x": ""} {
		if got := SemverOfGo(in); got != want {
			t.Errorf("SemverOfGo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestModules scans build lists against the test database with the real
// scanner (query mode: no binary, no go command).
func TestModules(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	rep, err := Modules(ctx, db, []Module{{"example.com/aplugin", "v1.0.0"}, {"example.com/other", "v1.0.0"}}, "go1.26.8")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 {
		t.Fatalf("findings %+v, want GO-2099-0001 only", rep.Findings)
	}
	f := rep.Findings[0]
	if f.ID != "GO-2099-0001" || f.Module != "example.com/aplugin" || f.Version != "v1.0.0" || f.Fixed != "v1.2.0" || f.Reachable || !strings.Contains(f.Summary, "TEST DATA") {
		t.Errorf("finding %+v", f)
	}
	if rep.DB != db.URL || rep.Time.IsZero() {
		t.Errorf("report of %q at %v", rep.DB, rep.Time)
	}
	rep, err = Modules(ctx, db, []Module{{"example.com/aplugin", "v1.2.0"}}, "go1.26.8")
	if err != nil || len(rep.Findings) != 0 {
		t.Errorf("the fixed version: %+v, %v", rep, err)
	}
}

// TestMissingDB: a database that cannot be read is a *DBError naming it
// on one line.
func TestMissingDB(t *testing.T) {
	missing := "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "nodb"))
	db, err := ParseDB(missing)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Modules(context.Background(), db, []Module{{"example.com/aplugin", "v1.0.0"}}, "go1.26.8")
	var dbe *DBError
	if !errors.As(err, &dbe) || !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing database: %v", err)
	}
}
