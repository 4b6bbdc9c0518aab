package selfcompile

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestVulnEvent(t *testing.T) {
	v := &Vuln{ID: "GO-2099-0001", Module: "example.com/a", Version: "v1.0.0", Fixed: "v1.2.0", Summary: "s", Reachable: true, Introduced: true}
	if got, want := v.String(), "GO-2099-0001 in example.com/a@v1.0.0 (fixed in v1.2.0), reachable, new: s"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (Vuln{ID: "X", Module: "m", Version: "v1"}).String(); got != "X in m@v1 (no fixed version)" {
		t.Errorf("String() = %q", got)
	}
	data, err := json.Marshal(Event{Kind: VulnFound, Stage: StageSmoke, Vuln: v})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Kind string
		Vuln map[string]any
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "vuln" || got.Vuln["id"] != "GO-2099-0001" || got.Vuln["fixed"] != "v1.2.0" || got.Vuln["reachable"] != true || got.Vuln["introduced"] != true {
		t.Errorf("JSON %s", data)
	}
	var b strings.Builder
	pv := &progressView{w: &b}
	pv.event(Event{Kind: VulnFound, Vuln: v}, pv.start)
	if !strings.Contains(b.String(), "selfcompile: vulnerability: GO-2099-0001 in example.com/a@v1.0.0") {
		t.Errorf("progress line %q", b.String())
	}
}
