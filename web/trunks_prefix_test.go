package web

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Editing a trunk on the settings page keeps its prefixes, which the form
// does not show.
func TestSettingsTrunkKeepsPrefixes(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	if err := st.SetSetting(t.Context(), directory.SettingTrunks,
		`[{"name":"vn","host":"sip.vn.example","prefixes":["+84"]}]`); err != nil {
		t.Fatal(err)
	}
	c := f.as(t, ts.URL, pOwner)
	form := url.Values{"original": {"vn"}, "name": {"vn"}, "host": {"10.1.2.3"}}
	if resp, body := c.post("/settings/trunks", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit trunk: %d\n%.500s", resp.StatusCode, body)
	}
	v, err := st.Setting(t.Context(), directory.SettingTrunks)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := directory.ParseTrunks(v)
	if err != nil || len(tr) != 1 || tr[0].Host != "10.1.2.3" || !slices.Equal(tr[0].Prefixes, []string{"+84"}) {
		t.Errorf("after the edit: %+v %v", tr, err)
	}
}
