package verify

import (
	"errors"
	"testing"
)

func TestRefusals(t *testing.T) {
	a, b := &PluginError{Plugin: "example.com/a", Reason: NoInitCode}, &PluginError{Plugin: "example.com/b", Reason: IsCommand}
	if got, ok := Refusals(nil); !ok || got != nil {
		t.Errorf("Refusals(nil) = %v, %v", got, ok)
	}
	if got, ok := Refusals(a); !ok || len(got) != 1 || got[0] != a {
		t.Errorf("one refusal: %v, %v", got, ok)
	}
	if got, ok := Refusals(errors.Join(a, b)); !ok || len(got) != 2 || got[1] != b {
		t.Errorf("joined refusals: %v, %v", got, ok)
	}
	if _, ok := Refusals(errors.Join(a, errors.New("go: cannot run"))); ok {
		t.Error("a failure among refusals was taken for refusals only")
	}
}
