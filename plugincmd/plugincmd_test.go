package plugincmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The commands that need no bundle, and the exit codes: the test binary
// has no bundle and was never rebuilt.
func TestMainWithoutBundle(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{nil, ExitRefused, "", "usage: plugins add"},
		{[]string{"frobnicate"}, ExitRefused, "", `unknown command "frobnicate"`},
		{[]string{"add"}, ExitRefused, "", "usage:"},
		{[]string{"list"}, ExitOK, "no plugins", ""},
		{[]string{"list", "--json"}, ExitOK, "[]", ""},
		{[]string{"upgrade"}, ExitOK, "", "nothing to upgrade"},
		{[]string{"rollback"}, ExitRefused, "", "nothing to roll back to"},
		{[]string{"add", "example.com/p@v1.0.0"}, ExitFailed, "", "carries no go-selfcompile bundle"},
		{[]string{"add", "--json", "example.com/p@v1.0.0"}, ExitFailed, `"result":`, ""},
	} {
		var out, errs bytes.Buffer
		code := Main(context.Background(), tc.args, Config{Stdout: &out, Stderr: &errs})
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errs.String(), tc.errs) {
			t.Errorf("plugins %q: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out.String(), errs.String(), tc.code, tc.stdout, tc.errs)
		}
	}
}
