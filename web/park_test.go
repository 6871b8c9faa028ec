package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestParkSettingsPage: the park settings are on the settings page, a bad
// orbit range is refused with why, a good one is stored; the roles matrix
// explains what the calls.park scopes mean.
func TestParkSettingsPage(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.openWith(t, &presenceLive{state: map[string]ExtPresence{}}, Config{})
	owner := f.as(t, ts.URL, pOwner)
	if _, body := owner.get("/settings"); !strings.Contains(body, `id="park.orbits"`) || !strings.Contains(body, `value="701-709"`) {
		t.Error("the settings page has no park orbits field with the default")
	}
	res, body := owner.post("/settings", url.Values{"park.orbits": {"110-115"}, "park.timeout": {"30"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "emergency") {
		t.Errorf("orbits over an emergency number: %d", res.StatusCode)
	}
	res, _ = owner.post("/settings", url.Values{"park.orbits": {"800-805"}, "park.timeout": {"30"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	if v, _ := st.Setting(t.Context(), directory.SettingParkOrbits); v != "800-805" {
		t.Errorf("park.orbits stored %q", v)
	}
	if _, body := owner.get("/roles/" + itoa(f.roles[directory.BuiltinAgent].ID)); !strings.Contains(body, `id="park-scope"`) ||
		!strings.Contains(body, `name="perm.calls.park" value="department"`) {
		t.Error("the roles matrix shows calls.park without its scopes explained")
	}
}
