package plugincmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	selfcompile "github.com/selfcompile/go-selfcompile"
)

// AfterSwap runs once after the running executable was replaced, and
// never when it was not: a dry run, Options.Output, a refusal, a
// failure, nothing to do. Its failure keeps the swap and exits 3.
func TestAfterSwap(t *testing.T) {
	refused := &selfcompile.Error{Kind: selfcompile.RefusedSpec, Msg: "bad spec"}
	for _, tc := range []struct {
		name    string
		args    []string
		output  string // Config.Options.Output
		res     *selfcompile.Result
		err     error
		hookErr error
		calls   int
		code    int
		errs    string
	}{
		{name: "swap", args: []string{"add", "example.com/p"}, res: &selfcompile.Result{Binary: "/srv/host"}, calls: 1},
		{name: "remove", args: []string{"remove", "example.com/p"}, res: &selfcompile.Result{Binary: "/srv/host"}, calls: 1},
		{name: "hook fails", args: []string{"add", "example.com/p"}, res: &selfcompile.Result{Binary: "/srv/host"}, hookErr: errors.New("no server answered"), calls: 1, code: ExitAfterSwapFailed,
			errs: "plugins: /srv/host is in place, but the hand-over failed: no server answered\n"},
		{name: "json", args: []string{"add", "--json", "example.com/p"}, res: &selfcompile.Result{Binary: "/srv/host"}, calls: 1},
		{name: "dry run", args: []string{"add", "--dry-run", "example.com/p"}, res: &selfcompile.Result{Binary: "/srv/host"}},
		{name: "verify", args: []string{"verify", "example.com/p"}, res: &selfcompile.Result{Binary: "/srv/host"}},
		{name: "output", args: []string{"add", "example.com/p"}, output: "/tmp/out", res: &selfcompile.Result{Binary: "/tmp/out"}},
		{name: "nothing to do", args: []string{"add", "example.com/p"}, res: &selfcompile.Result{Warnings: []string{"already installed"}}},
		{name: "refused", args: []string{"add", "example.com/p"}, res: &selfcompile.Result{}, err: refused, code: ExitRefused},
		{name: "failed", args: []string{"add", "example.com/p"}, res: &selfcompile.Result{}, err: errors.New("disk full"), code: ExitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeRebuild(t, tc.res, tc.err)
			var got []*selfcompile.Result
			var out, errs bytes.Buffer
			code := Main(context.Background(), tc.args, Config{
				Stdout: &out, Stderr: &errs,
				Options: selfcompile.Options{Output: tc.output},
				AfterSwap: func(_ context.Context, res *selfcompile.Result) error {
					got = append(got, res)
					return tc.hookErr
				},
			})
			if code != tc.code || len(got) != tc.calls {
				t.Errorf("exit %d, hook called %d times; want %d, %d; stderr:\n%s", code, len(got), tc.code, tc.calls, errs.String())
			}
			if len(got) > 0 && got[0] != tc.res {
				t.Errorf("hook got %+v, want the rebuild's Result %+v", got[0], tc.res)
			}
			if tc.errs != "" && errs.String() != tc.errs {
				t.Errorf("stderr %q, want %q", errs.String(), tc.errs)
			}
		})
	}
}

// Without a bundle, add and rollback fail for real, and AfterSwap is not
// called.
func TestAfterSwapNotCalledOnRealFailure(t *testing.T) {
	for _, args := range [][]string{{"add", "example.com/p@v1.0.0"}, {"rollback"}} {
		var errs bytes.Buffer
		called := false
		code := Main(context.Background(), args, Config{Stdout: &bytes.Buffer{}, Stderr: &errs,
			AfterSwap: func(context.Context, *selfcompile.Result) error { called = true; return nil }})
		if code == ExitOK || called {
			t.Errorf("plugins %q: exit %d, hook called %v; want a failure and no call; stderr %q", args, code, called, errs.String())
		}
	}
}

// fakeRebuild makes the commands' rebuild return res and err for the
// rest of the test.
func fakeRebuild(t *testing.T, res *selfcompile.Result, err error) {
	t.Helper()
	saved := runRebuild
	t.Cleanup(func() { runRebuild = saved })
	runRebuild = func(_ context.Context, o selfcompile.Options) (*selfcompile.Result, error) {
		if len(o.Plugins) == 0 && len(o.Remove) == 0 {
			return nil, fmt.Errorf("rebuild called with no plugins: %+v", o)
		}
		return res, err
	}
}
