package selfcompile

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/selfcompile/go-selfcompile/internal/testkit"
)

// heavy are packages that only a rebuild needs, which run in the helper:
// a host that imports this package must not link them (see
// internal/helper). Each costs hundreds of KiB in every host binary.
var heavy = []string{
	"golang.org/x/tools/go/packages", "go/types", "golang.org/x/mod/modfile",
	"github.com/hashicorp/go-version", "github.com/klauspost/compress/zstd",
	"archive/tar", "crypto/rand", "crypto/sha256", "regexp",
	"github.com/selfcompile/go-selfcompile/internal/modgen", "github.com/selfcompile/go-selfcompile/internal/verify",
	"github.com/selfcompile/go-selfcompile/internal/rebuild", "github.com/selfcompile/go-selfcompile/internal/archive",
	// The vulnerability check: golang.org/x/vuln and its HTTP client.
	"golang.org/x/vuln/scan", "github.com/selfcompile/go-selfcompile/internal/vulns", "net/http",
	// The store (Options.Store): the registry client and SSH signatures.
	"github.com/selfcompile/go-selfcompile/internal/store", "github.com/selfcompile/go-selfcompile/internal/rebuildkey",
	"oras.land/oras-go/v2/registry/remote", "golang.org/x/crypto/ssh",
}

// TestHostLinksOnlyWhatItNeeds fails when the root package comes to
// depend on a package only a rebuild needs.
func TestHostLinksOnlyWhatItNeeds(t *testing.T) {
	testkit.NeedGo(t)
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOFLAGS=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps: %v", err)
		}
		deps := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			deps[p] = true
		}
		for _, p := range heavy {
			if deps[p] {
				t.Errorf("GOOS=%s: the host links %s; move what needs it into the helper", goos, p)
			}
		}
	}
}
