// Package testuser gives tests a second user account, to plant files that
// belong to someone else: it creates one when the tests run as root, and
// says why it cannot otherwise. Only tests import it.
package testuser

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"sync"
	"testing"
)

// Name is the account tests use: created once per machine and kept, since
// test binaries of several packages may use it at once.
const Name = "selfcompile-other"

// RequireEnv, set to any value, makes [Need] fail a test that cannot have
// a second user instead of skipping it: .ci/run sets it when it runs as
// root, so that the ownership tests cannot silently stop running there.
const RequireEnv = "SELFCOMPILE_REQUIRE_SECOND_USER"

var once struct {
	sync.Once
	uid, gid int
	err      error
}

// Other returns the uid and gid of a user other than the one running the
// tests, creating it (useradd) if needed; the error says why it cannot.
func Other() (uid, gid int, err error) {
	once.Do(func() { once.uid, once.gid, once.err = other() })
	return once.uid, once.gid, once.err
}

// Need returns the ids of [Other], or ends the test saying why there is
// no second user: it skips, or fails under [RequireEnv].
func Need(t testing.TB) (uid, gid int) {
	t.Helper()
	uid, gid, err := Other()
	if err != nil {
		end(t, err, os.Getenv(RequireEnv) != "")
	}
	return uid, gid
}

// end fails t with err when required, and skips it otherwise.
func end(t testing.TB, err error, required bool) {
	t.Helper()
	if required {
		t.Fatalf("needs a second user (%s is set): %v", RequireEnv, err)
	}
	t.Skipf("needs a second user: %v", err)
}

func other() (int, int, error) {
	if os.Geteuid() != 0 {
		return 0, 0, errors.New("not running as root: cannot create a second user to own the planted files")
	}
	if u, err := user.Lookup(Name); err == nil {
		return ids(u)
	}
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", Name).CombinedOutput()
	if err != nil {
		// Another test binary may have created it meanwhile.
		if u, err2 := user.Lookup(Name); err2 == nil {
			return ids(u)
		}
		return 0, 0, fmt.Errorf("useradd %s: %v: %s", Name, err, out)
	}
	u, err := user.Lookup(Name)
	if err != nil {
		return 0, 0, err
	}
	return ids(u)
}

func ids(u *user.User) (int, int, error) {
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	return uid, gid, errors.Join(err1, err2)
}
