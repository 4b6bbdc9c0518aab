package rebuild

import (
	"errors"
	"strings"
	"testing"

	selfcompile "github.com/selfcompile/go-selfcompile"
	"github.com/selfcompile/go-selfcompile/internal/helper"
	"github.com/selfcompile/go-selfcompile/internal/vulns"
)

// TestCheckRefusesGOVULNDB: a GOVULNDB that names no database is refused
// in prepare's check, in one line, its password hidden.
func TestCheckRefusesGOVULNDB(t *testing.T) {
	job := &helper.Job{Plugins: []string{"example.com/a@v1.0.0"}, Env: []string{"GOVULNDB=ftp://u:s3cret@db.example.com/"}}
	out := check(job)
	e := out.Err
	if e == nil || e.Kind != selfcompile.RefusedSetting || !strings.Contains(e.Msg, "GOVULNDB=ftp://xxxxx@db.example.com/") || strings.Contains(e.Msg, "s3cret") || strings.Contains(e.Msg, "\n") {
		t.Fatalf("check: %+v", e)
	}
	if !errors.Is(e, selfcompile.ErrRefused) {
		t.Errorf("%v does not match ErrRefused", e)
	}
	job.Env = []string{"GOVULNDB=off"}
	if out := check(job); out.Err != nil {
		t.Errorf("GOVULNDB=off: %v", out.Err)
	}
}

// TestClassifyVulnRefusal: a refused finding is a RefusedVuln.
func TestClassifyVulnRefusal(t *testing.T) {
	err := vulns.Decide(vulns.Refuse, []vulns.Finding{{ID: "GO-2099-0001", Module: "example.com/a", Version: "v1.0.0", Reachable: true}}, []bool{true})
	e := failed("smoke", err).Err
	if e.Kind != selfcompile.RefusedVuln || !errors.Is(e, selfcompile.ErrRefused) || !strings.Contains(e.Msg, "no fixed version is known") {
		t.Errorf("classified %+v", e)
	}
}
