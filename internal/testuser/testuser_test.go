package testuser

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// ending records how end ended a test.
type ending struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (e *ending) Helper() {}

func (e *ending) Fatalf(format string, args ...any) {
	e.failed, e.msg = true, fmt.Sprintf(format, args...)
	panic(e)
}

func (e *ending) Skipf(format string, args ...any) {
	e.skipped, e.msg = true, fmt.Sprintf(format, args...)
	panic(e)
}

func endWith(t *testing.T, required bool) (e *ending) {
	e = &ending{TB: t}
	defer func() {
		if r := recover(); r != nil && r != any(e) {
			panic(r)
		}
	}()
	end(e, errors.New("no useradd"), required)
	return e
}

// Without a second user a test skips, unless RequireEnv asks for one: it
// then fails, so that CI cannot pass without running it.
func TestEnd(t *testing.T) {
	if e := endWith(t, false); !e.skipped || e.failed {
		t.Errorf("not required: skipped %v, failed %v; want a skip", e.skipped, e.failed)
	}
	if e := endWith(t, true); !e.failed || e.skipped || !strings.Contains(e.msg, RequireEnv) {
		t.Errorf("required: failed %v, skipped %v (%q); want a failure naming %s", e.failed, e.skipped, e.msg, RequireEnv)
	}
}
