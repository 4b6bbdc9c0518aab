// Package slim fetches what a slim bundle (go-selfcompile bundle -slim)
// does not carry: the toolchain, as the golang.org/toolchain module of the
// bundle's Go version and platform, through GOPROXY, checked against the
// h1: checksum recorded when the bundle was made; and the helper, built
// with that toolchain from the host's bundled source (its dependency
// modules come through GOPROXY too, checked against go.sum by the go
// command). The generated stub of a slim bundle refers to Provide, so only
// programs with slim bundles link this package and its HTTP client.
package slim

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/selfcompile/go-selfcompile/bundle"
	"github.com/selfcompile/go-selfcompile/internal/gocmd"
	"github.com/selfcompile/go-selfcompile/internal/tcache"
	"github.com/selfcompile/go-selfcompile/internal/untar"
)

// Provide installs the toolchain req names into req.Cache, fetching it
// when the cache does not hold it, and builds the helper into req.Work.
func Provide(ctx context.Context, req bundle.FetchRequest) (*bundle.Fetched, error) {
	env := (&gocmd.Runner{Env: req.Env}).Environ()
	goroot, ok := tcache.Installed(req.Cache, req.Slim.ToolchainSum)
	if !ok {
		var err error
		if goroot, err = fetchToolchain(ctx, req, env); err != nil {
			return nil, err
		}
	}
	helper, err := buildHelper(ctx, req, goroot)
	if err != nil {
		return nil, err
	}
	return &bundle.Fetched{GOROOT: goroot, Helper: helper}, nil
}

// fetchToolchain downloads the toolchain module's zip into the cache
// directory and installs it (toolchain.InstallZip checks its sum).
func fetchToolchain(ctx context.Context, req bundle.FetchRequest, env []string) (string, error) {
	if err := os.MkdirAll(req.Cache, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(req.Cache, ".toolchain-*.zip")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	err = download(ctx, tmp, env, tcache.ModulePath, req.Slim.Toolchain)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return tcache.InstallZip(tmp.Name(), req.Slim.ToolchainSum, req.GOOS, req.GOARCH, req.Cache)
}

// errNotFound is a proxy's "no such module version": the next proxy of a
// comma-separated list is tried.
var errNotFound = errors.New("not found")

// download writes the zip of modPath@version to w from the first proxy of
// GOPROXY in env that has it, following the go command's rules: after a
// comma, the next proxy is tried only if one says not found (404, 410);
// after a pipe, on any error. "direct" and "off" cannot serve a toolchain,
// which has no repository, and neither can a GONOPROXY or GOPRIVATE match.
func download(ctx context.Context, w io.WriteSeeker, env []string, modPath, version string) error {
	proxies, _ := gocmd.Lookup(env, "GOPROXY")
	if proxies == "" {
		proxies = "https://proxy.golang.org,direct"
	}
	for _, key := range []string{"GONOPROXY", "GOPRIVATE"} {
		if pat, _ := gocmd.Lookup(env, key); matchPrefixPatterns(pat, modPath) {
			return fmt.Errorf("%s=%s names %s, which only a proxy serves", key, pat, modPath)
		}
	}
	escPath, escVersion := escape(modPath), escape(version)
	all := proxies
	var tried []string
	for proxies != "" {
		var proxy string
		var anyError bool
		if i := strings.IndexAny(proxies, ",|"); i >= 0 {
			proxy, anyError, proxies = proxies[:i], proxies[i] == '|', proxies[i+1:]
		} else {
			proxy, proxies = proxies, ""
		}
		switch proxy = strings.TrimSpace(proxy); proxy {
		case "", "direct":
			continue
		case "off":
			tried = append(tried, "GOPROXY=off")
			return fmt.Errorf("downloading %s@%s: %s", modPath, version, strings.Join(tried, "; "))
		}
		if _, err := w.Seek(0, io.SeekStart); err != nil {
			return err
		}
		err := fetch(ctx, w, strings.TrimSuffix(proxy, "/")+"/"+escPath+"/@v/"+escVersion+".zip")
		if err == nil {
			return nil
		}
		tried = append(tried, err.Error())
		if !anyError && !errors.Is(err, errNotFound) {
			break
		}
	}
	if len(tried) == 0 {
		tried = append(tried, "GOPROXY="+redactList(all)+" names no module proxy, and a toolchain has no repository to fetch directly")
	}
	return fmt.Errorf("downloading %s@%s: %s", modPath, version, strings.Join(tried, "; "))
}

// escape is the module proxy protocol's case encoding of a path or
// version: each upper-case letter becomes "!" and its lower case.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// matchPrefixPatterns reports whether a comma-separated list of glob
// patterns (GOPRIVATE's syntax) matches modPath or one of its prefixes
// of whole path elements, as the go command matches them.
func matchPrefixPatterns(patterns, modPath string) bool {
	for _, pat := range strings.Split(patterns, ",") {
		pat = strings.Trim(pat, " /")
		if pat == "" {
			continue
		}
		n := strings.Count(pat, "/") + 1
		prefix := modPath
		for i := 0; i < len(modPath); i++ {
			if modPath[i] == '/' {
				n--
				if n == 0 {
					prefix = modPath[:i]
					break
				}
			}
		}
		if n > 1 {
			continue // the pattern has more elements than the path
		}
		if ok, _ := path.Match(pat, prefix); ok {
			return true
		}
	}
	return false
}

// fetch copies the file at rawURL (http, https or file) to w. Its errors
// name the URL redacted: a GOPROXY may carry credentials.
func fetch(ctx context.Context, w io.Writer, rawURL string) error {
	shown := redacted(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error repeats the URL.
		return fmt.Errorf("GOPROXY entry %s is not a URL", shown)
	}
	var body io.ReadCloser
	switch u.Scheme {
	case "file":
		p := u.Path
		if len(p) > 2 && p[0] == '/' && p[2] == ':' { // file:///C:/dir on Windows
			p = p[1:]
		}
		f, err := os.Open(filepath.FromSlash(p))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %w", shown, errNotFound)
		}
		if err != nil {
			return err
		}
		body = f
	case "http", "https":
		hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return fmt.Errorf("%s: %v", shown, unwrapURLError(err))
		}
		resp, err := http.DefaultClient.Do(hreq)
		if err != nil {
			return fmt.Errorf("%s: %w", shown, unwrapURLError(err))
		}
		if resp.ContentLength > maxDownload {
			resp.Body.Close()
			return fmt.Errorf("%s: %d MiB, larger than %d MiB, the most a module zip may be: refusing it as corrupt", shown, resp.ContentLength>>20, maxDownload>>20)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
				return fmt.Errorf("%s: %s: %w", shown, resp.Status, errNotFound)
			}
			return fmt.Errorf("%s: %s", shown, resp.Status)
		}
		body = resp.Body
	default:
		return fmt.Errorf("GOPROXY entry %s: want an https, http or file URL", shown)
	}
	defer body.Close()
	n, err := io.Copy(w, io.LimitReader(body, maxDownload+1))
	if err != nil {
		return fmt.Errorf("%s: %w", shown, unwrapURLError(err))
	}
	if n > maxDownload {
		return fmt.Errorf("%s: larger than %d MiB, the most a module zip may be: refusing it as corrupt", shown, maxDownload>>20)
	}
	return nil
}

// maxDownload caps what fetch writes, as the go command caps a module
// zip (500 MiB); a whole toolchain zip is about 72 MiB. A variable for
// the tests.
var maxDownload int64 = 500 << 20

// redacted is rawURL fit to print: its password replaced as
// url.URL.Redacted does, and a user name alone too, since a token is often
// given as one (https://TOKEN@host). What does not parse as a URL is
// shown only up to its scheme when it names a user.
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		if strings.Contains(rawURL, "@") {
			scheme, _, _ := strings.Cut(rawURL, ":")
			return scheme + ":…"
		}
		return rawURL
	}
	if u.User != nil {
		if _, ok := u.User.Password(); !ok {
			u.User = url.User("xxxxx")
		}
	}
	return u.Redacted()
}

// redactList redacts each URL of a GOPROXY list.
func redactList(list string) string {
	var b strings.Builder
	for list != "" {
		i := strings.IndexAny(list, ",|")
		if i < 0 {
			b.WriteString(redacted(list))
			break
		}
		b.WriteString(redacted(list[:i]))
		b.WriteByte(list[i])
		list = list[i+1:]
	}
	return b.String()
}

// unwrapURLError drops the URL that net/http's errors repeat (with only
// the password stripped).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// buildHelper builds the helper (the go-selfcompile command, at the
// version the host module requires) with the toolchain at goroot, in the
// host's bundled source, into req.Work.
func buildHelper(ctx context.Context, req bundle.FetchRequest, goroot string) (string, error) {
	m, err := bundle.ReadManifest(req.Bundle)
	if err != nil {
		return "", err
	}
	src := filepath.Join(req.Work, "helper-src")
	f, err := req.Bundle.Open(bundle.SourceFile)
	if err != nil {
		return "", err
	}
	err = untar.Extract(f, src, m.Parts[bundle.SourceFile], func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) })
	f.Close()
	if err != nil {
		return "", fmt.Errorf("unpacking the host's source: %w", err)
	}
	exe := filepath.Join(req.Work, bundle.HelperName)
	if req.GOOS == "windows" {
		exe += ".exe"
	}
	run := &gocmd.Runner{GoBin: tcache.GoBin(goroot), Env: append([]string{
		"GOROOT=" + goroot,
		"GOCACHE=" + filepath.Join(req.Cache, "gocache"),
		"GOMODCACHE=" + req.ModCache,
		"GOFLAGS=-mod=mod -modcacherw",
		"CGO_ENABLED=0",
	}, req.Env...)}
	_, err = run.Run(ctx, gocmd.Invocation{
		Verb:       "build",
		Args:       []string{"-trimpath", "-ldflags=-s -w", "-o", exe, bundle.HelperPackage},
		WorkingDir: filepath.Join(src, bundle.SourceModuleDir, filepath.FromSlash(m.MainDir)),
	})
	if err != nil {
		return "", fmt.Errorf("building the rebuild helper: %w", err)
	}
	return exe, nil
}
