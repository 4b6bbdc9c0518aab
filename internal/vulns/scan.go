package vulns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"
	"golang.org/x/vuln/scan"
)

// Finding is one vulnerability of a module at one version.
type Finding struct {
	ID      string // e.g. "GO-2024-2687"
	Module  string // module path; "stdlib" for the standard library
	Version string // the version scanned, e.g. "v1.2.0"
	// Fixed is the lowest version above Version that fixes it; empty
	// when none does.
	Fixed   string
	Summary string
	// Reachable says that a vulnerable function is linked in (binary
	// mode finds it by its symbol); false for a finding of the module
	// alone.
	Reachable bool
}

// Report is what one scan found.
type Report struct {
	DB       string    // the database, redacted
	Time     time.Time // when the scan ended
	Findings []Finding // sorted by ID, then module
}

// scanTimeout bounds one scan, the database's answers included.
const scanTimeout = 2 * time.Minute

// stdlib is the module path govulncheck gives the standard library.
const stdlib = "stdlib"

// Binary scans the Go binary at path: its modules and Go version from its
// build information, the functions it links from its symbol table (which
// -ldflags=-s -w keeps: it is the runtime's). No go command runs.
func Binary(ctx context.Context, db DB, path string) (*Report, error) {
	return run(ctx, db, nil, "-mode", "binary", "-format", "json", "-db", db.URL, path)
}

// Module is one module of a build list.
type Module struct {
	Path, Version string
}

// Modules scans a build list without a binary: each module at its
// version, and the standard library of goVersion (e.g. "go1.26.8"). Its
// findings are of modules only (Reachable false). No go command runs.
func Modules(ctx context.Context, db DB, mods []Module, goVersion string) (*Report, error) {
	args := []string{"-mode", "query", "-format", "json", "-db", db.URL}
	queried := map[string]string{}
	for _, m := range mods {
		if semver.IsValid(m.Version) {
			args = append(args, m.Path+"@"+m.Version)
			queried[m.Path] = m.Version
		}
	}
	if v := SemverOfGo(goVersion); v != "" {
		args = append(args, stdlib+"@"+v)
		queried[stdlib] = v
	}
	return run(ctx, db, queried, args...)
}

// run runs govulncheck with args and reads its JSON stream; queried, for
// query mode, is the version asked of each module, the findings being
// computed from the entries.
func run(ctx context.Context, db DB, queried map[string]string, args ...string) (*Report, error) {
	// A database behind a firewall that drops packets would hold the
	// rebuild for the system's connect timeout, or forever on a
	// connection that stalls: the scan itself takes under a second.
	sctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	var out, stderr bytes.Buffer
	cmd := scan.Command(sctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(""), &out, &stderr
	cmd.Env = []string{}
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err() // stopped: not the database's doing
	case sctx.Err() == context.DeadlineExceeded:
		err = fmt.Errorf("no answer in %v", scanTimeout)
	}
	if err != nil {
		msg := strings.TrimSpace(err.Error())
		if s := lastLine(stderr.String()); s != "" && !strings.Contains(msg, s) {
			msg += ": " + s
		}
		return nil, &DBError{DB: db.Redacted(), Msg: strings.ReplaceAll(msg, db.URL, db.Redacted())}
	}
	rep, err := Parse(&out, queried)
	if err != nil {
		return nil, err
	}
	rep.DB, rep.Time = db.Redacted(), time.Now().UTC()
	return rep, nil
}

// DBError is a scan that could not run: most often, the database could
// not be read.
type DBError struct {
	DB  string // redacted
	Msg string
}

func (e *DBError) Error() string {
	return fmt.Sprintf("the vulnerability database %s cannot be read: %s", e.DB, e.Msg)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// message is one message of govulncheck's JSON stream (protocol
// v1.0.0): the fields read here.
type message struct {
	OSV     *entry `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

// entry is the part of an OSV entry read here.
type entry struct {
	ID       string `json:"id"`
	Summary  string `json:"summary"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced"`
				Fixed      string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

// Parse reads govulncheck's JSON stream. A finding's first frame names
// the module, version and, at symbol level, the function: one with a
// function is reachable. When queried is set (query mode, which sends
// entries only), the findings are the entries' affected modules at the
// versions queried.
func Parse(r io.Reader, queried map[string]string) (*Report, error) {
	dec := json.NewDecoder(r)
	entries := map[string]*entry{}
	found := map[[2]string]*Finding{}
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading govulncheck's output: %v", err)
		}
		if e := m.OSV; e != nil {
			entries[e.ID] = e
		}
		if f := m.Finding; f != nil && len(f.Trace) > 0 {
			top := f.Trace[0]
			key := [2]string{f.OSV, top.Module}
			g := found[key]
			if g == nil {
				g = &Finding{ID: f.OSV, Module: top.Module, Version: top.Version, Fixed: f.FixedVersion}
				found[key] = g
			}
			g.Reachable = g.Reachable || top.Function != ""
		}
	}
	for _, e := range entries {
		for mod, v := range queried {
			if fixed, ok := e.affects(mod, v); ok {
				found[[2]string{e.ID, mod}] = &Finding{ID: e.ID, Module: mod, Version: v, Fixed: fixed}
			}
		}
	}
	rep := &Report{}
	for _, f := range found {
		if e := entries[f.ID]; e != nil {
			f.Summary = e.Summary
		}
		if f.Fixed != "" && !strings.HasPrefix(f.Fixed, "v") {
			f.Fixed = "v" + f.Fixed
		}
		rep.Findings = append(rep.Findings, *f)
	}
	slices.SortFunc(rep.Findings, func(a, b Finding) int {
		return strings.Compare(a.ID+" "+a.Module, b.ID+" "+b.Module)
	})
	return rep, nil
}

// affects reports whether e affects module mod at version v, and the
// lowest version above v that fixes it.
func (e *entry) affects(mod, v string) (fixed string, ok bool) {
	for _, a := range e.Affected {
		if a.Package.Name != mod {
			continue
		}
		for _, r := range a.Ranges {
			if r.Type != "SEMVER" {
				continue
			}
			in := false
			for _, ev := range r.Events {
				switch {
				case ev.Introduced != "":
					if ev.Introduced == "0" || semver.Compare(v, "v"+ev.Introduced) >= 0 {
						in = true
					}
				case ev.Fixed != "":
					if in && semver.Compare(v, "v"+ev.Fixed) < 0 {
						return "v" + ev.Fixed, true
					}
					in = false
				}
			}
			if in {
				return "", true
			}
		}
	}
	return "", false
}

// SemverOfGo turns a Go version ("go1.26.8", "go1.27rc1", "go1.26")
// into the semantic version the database uses for the standard library;
// "" for what is not one.
func SemverOfGo(v string) string {
	v, ok := strings.CutPrefix(v, "go")
	if !ok {
		return ""
	}
	pre := ""
	for _, p := range []string{"rc", "beta"} {
		if i := strings.Index(v, p); i > 0 {
			pre = "-" + p + "." + v[i+len(p):]
			v = v[:i]
		}
	}
	if strings.Count(v, ".") == 1 {
		v += ".0"
	}
	s := "v" + v + pre
	if !semver.IsValid(s) {
		return ""
	}
	return s
}
