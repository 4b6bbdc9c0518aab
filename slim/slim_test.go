package slim

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// memFile is an io.WriteSeeker in memory.
type memFile struct{ bytes.Buffer }

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	m.Reset() // download only ever rewinds to the start
	return 0, nil
}

// download follows GOPROXY as the go command does: a comma falls through
// only on not found, a pipe on any error; off stops; direct cannot serve
// a module that has no repository; GONOPROXY and GOPRIVATE refuse.
func TestDownloadFollowsGOPROXY(t *testing.T) {
	const mod, version = "golang.org/toolchain", "v0.0.1-go1.99.0.linux-amd64"
	dir := t.TempDir()
	vdir := filepath.Join(dir, mod, "@v")
	os.MkdirAll(vdir, 0o755)
	os.WriteFile(filepath.Join(vdir, version+".zip"), []byte("the zip"), 0o644)
	hasIt := "file://" + filepath.ToSlash(dir)
	empty := "file://" + filepath.ToSlash(t.TempDir())
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer broken.Close()
	served := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+mod+"/@v/"+version+".zip" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("over http"))
	}))
	defer served.Close()
	for _, tc := range []struct {
		env     []string
		want    string // the content, or
		wantErr string // a part of the error
	}{
		{[]string{"GOPROXY=" + hasIt}, "the zip", ""},
		{[]string{"GOPROXY=" + empty + "," + hasIt}, "the zip", ""},
		{[]string{"GOPROXY=" + served.URL}, "over http", ""},
		{[]string{"GOPROXY=" + broken.URL + "," + hasIt}, "", "500"},
		{[]string{"GOPROXY=" + broken.URL + "|" + hasIt}, "the zip", ""},
		{[]string{"GOPROXY=direct," + hasIt}, "the zip", ""},
		{[]string{"GOPROXY=" + empty + ",off"}, "", "GOPROXY=off"},
		{[]string{"GOPROXY=direct"}, "", "GOPROXY=direct names no module proxy"},
		{[]string{"GOPROXY=" + hasIt, "GOPRIVATE=golang.org"}, "", "GOPRIVATE=golang.org names golang.org/toolchain"},
		{[]string{"GOPROXY=" + hasIt, "GONOPROXY=golang.org/toolchain"}, "", "GONOPROXY"},
	} {
		var w memFile
		err := download(context.Background(), &w, tc.env, mod, version)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one containing %q", tc.env, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.wantErr == "" && w.String() != tc.want:
			t.Errorf("%v: got %q, want %q", tc.env, w.String(), tc.want)
		}
	}
}

// matchPrefixPatterns agrees with the go command's rule (x/mod's
// module.MatchPrefixPatterns) on the cases that matter here.
func TestMatchPrefixPatterns(t *testing.T) {
	for _, tc := range []struct {
		pat  string
		want bool
	}{
		{"golang.org", true}, {"golang.org/toolchain", true}, {"golang.org/toolchain/x", false},
		{"*.org", true}, {"golang.org/*", true}, {"corp.example,golang.org", true},
		{"corp.example", false}, {"", false}, {"golang.org/tool", false}, {" golang.org/ ", true},
	} {
		if got := matchPrefixPatterns(tc.pat, "golang.org/toolchain"); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.pat, got, tc.want)
		}
	}
	if escape("github.com/Azure/Go") != "github.com/!azure/!go" {
		t.Errorf("escape: %q", escape("github.com/Azure/Go"))
	}
}

// Credentials in GOPROXY never reach an error: not a password, not a
// token given as the user name, not from a URL that does not parse.
func TestDownloadErrorsHideCredentials(t *testing.T) {
	const secret = "s3cr3t"
	const mod, version = "golang.org/toolchain", "v0.0.1-go1.99.0.linux-amd64"
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer broken.Close()
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer hangUp.Close()
	withUser := func(u, userinfo string) string { return strings.Replace(u, "://", "://"+userinfo+"@", 1) }
	for _, proxy := range []string{
		withUser(notFound.URL, "user:"+secret),
		withUser(broken.URL, "user:"+secret),
		withUser(hangUp.URL, "user:"+secret),
		withUser(notFound.URL, secret),
		withUser(notFound.URL, "user:"+secret) + "," + withUser(broken.URL, secret),
		"https://user:" + secret + "@bad host",
		"ftp://user:" + secret + "@example.com",
		"direct|https://user:" + secret + "@[::1",
	} {
		var w memFile
		err := download(context.Background(), &w, []string{"GOPROXY=" + proxy}, mod, version)
		if err == nil {
			t.Fatalf("GOPROXY=%s: no error", proxy)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("GOPROXY=%s: the error shows the credentials: %v", proxy, err)
		}
	}
}

// A download stops at the cap, whether or not the server says how long
// it is, and is refused as corrupt.
func TestDownloadCapped(t *testing.T) {
	old := maxDownload
	maxDownload = 1 << 20
	defer func() { maxDownload = old }()
	const mod, version = "golang.org/toolchain", "v0.0.1-go1.99.0.linux-amd64"
	huge := make([]byte, 3<<20)
	for _, chunked := range []bool{false, true} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if chunked {
				w.(http.Flusher).Flush() // no Content-Length
			}
			w.Write(huge)
		}))
		var w memFile
		err := download(context.Background(), &w, []string{"GOPROXY=" + srv.URL}, mod, version)
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("chunked=%v: %v, want a refusal as corrupt", chunked, err)
		}
		if int64(w.Len()) > maxDownload+1 {
			t.Errorf("chunked=%v: wrote %d bytes, past the %d cap", chunked, w.Len(), maxDownload)
		}
	}
}
