package web

import (
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
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

// Prefixes typed in the trunk form (commas or spaces) are stored as a list,
// shown in the trunk list and in the edit form, and an emptied field
// clears them.
func TestSettingsTrunkPrefixesRoundTrip(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.as(t, ts.URL, pAdmin)
	form := url.Values{"original": {""}, "name": {"vn"}, "host": {"sip.vn.example"}, "prefixes": {" +84,+48  +8424 ,"}}
	if resp, body := c.post("/settings/trunks", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add trunk: %d\n%.500s", resp.StatusCode, body)
	}
	form = url.Values{"original": {""}, "name": {"any"}, "host": {"sip.any.example"}, "prefixes": {""}}
	if resp, body := c.post("/settings/trunks", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add trunk without prefixes: %d\n%.500s", resp.StatusCode, body)
	}
	tr := storedTrunks(t, st)
	if len(tr) != 2 || !slices.Equal(tr[0].Prefixes, []string{"+84", "+48", "+8424"}) || tr[1].Prefixes != nil {
		t.Fatalf("stored trunks: %+v", tr)
	}
	v, _ := st.Setting(t.Context(), directory.SettingTrunks)
	if strings.Count(v, "prefixes") != 1 {
		t.Errorf("the trunk without prefixes stores some: %s", v)
	}

	resp, page := c.get("/settings")
	page = html.UnescapeString(page) // html/template writes + as &#43;
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /settings: %d", resp.StatusCode)
	}
	for _, want := range []string{"<th>Number prefixes</th>", "<code>+84</code>, <code>+48</code>, <code>+8424</code>",
		`<span class="muted">any number</span>`, `id="trunk0-prefixes" name="prefixes" value="+84, +48, +8424"`,
		`id="trunk1-prefixes" name="prefixes" value=""`, "Numbers starting with these go to this trunk first; empty: any number."} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}

	// The edit form sent back as shown changes nothing; emptied, it clears.
	form = url.Values{"original": {"vn"}, "name": {"vn"}, "host": {"sip.vn.example"}, "prefixes": {"+84, +48, +8424"}}
	if resp, body := c.post("/settings/trunks", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit trunk: %d\n%.500s", resp.StatusCode, body)
	}
	if tr := storedTrunks(t, st); !slices.Equal(tr[0].Prefixes, []string{"+84", "+48", "+8424"}) {
		t.Errorf("after an unchanged edit: %+v", tr[0])
	}
	form.Set("prefixes", " ")
	if resp, body := c.post("/settings/trunks", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear prefixes: %d\n%.500s", resp.StatusCode, body)
	}
	if tr := storedTrunks(t, st); tr[0].Prefixes != nil {
		t.Errorf("after clearing: %+v", tr[0])
	}
	if !audited(t, st, "settings.trunk", "trunk:vn") {
		t.Error("trunk change not audited")
	}
}

// A prefix that is not + and digits is shown under the prefixes field of
// the form it was typed in, typed back, and nothing is stored.
func TestSettingsTrunkBadPrefix(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	seedTelephony(t, st)
	before, _ := st.Setting(t.Context(), directory.SettingTrunks)
	c := f.as(t, ts.URL, pAdmin)
	for _, tc := range []struct {
		name, original, id string
	}{
		{"new trunk", "", "trunk-new"},
		{"edited trunk", seedTrunk, "trunk0"},
	} {
		form := url.Values{"original": {tc.original}, "name": {"vn"}, "host": {"sip.vn.example"}, "prefixes": {"+84 84x, +48"}}
		resp, page := c.post("/settings/trunks", form)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: bad prefix: %d\n%.500s", tc.name, resp.StatusCode, page)
		}
		page = html.UnescapeString(page)
		field := strings.Index(page, `id="`+tc.id+`-prefixes" name="prefixes" value="+84, 84x, +48"`)
		msg := strings.Index(page, `<div class="err">"84x": must be + and 1 to 15 digits, such as +48</div>`)
		if field < 0 || msg < field || strings.Contains(page[field:msg], "<label") {
			t.Errorf("%s: the mistake is not under the prefixes field (field at %d, message at %d)\n%s", tc.name, field, msg, page)
		}
		if after, _ := st.Setting(t.Context(), directory.SettingTrunks); after != before {
			t.Errorf("%s: stored %s", tc.name, after)
		}
	}
	if audited(t, st, "settings.trunk", "trunk:vn") {
		t.Error("a refused trunk is audited")
	}
}

// The JSON API takes and answers prefixes: absent on PUT they stay, [] clears
// them, and a bad one names its place.
func TestAPITrunkPrefixes(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	admin := f.api(t, ts.URL, pAdmin)
	out := admin.call(t, http.MethodPost, "/api/v1/trunks", `{"name":"vn","host":"sip.vn.example","prefixes":["+84","+8424"]}`, http.StatusCreated)
	if ps, _ := out["prefixes"].([]any); len(ps) != 2 || ps[0] != "+84" || ps[1] != "+8424" {
		t.Errorf("created trunk answered %v", out)
	}
	out = admin.call(t, http.MethodPut, "/api/v1/trunks/vn", `{"host":"10.0.0.1"}`, http.StatusOK)
	if ps, _ := out["prefixes"].([]any); len(ps) != 2 {
		t.Errorf("a PUT without prefixes answered %v", out)
	}
	e := admin.call(t, http.MethodPut, "/api/v1/trunks/vn", `{"host":"10.0.0.1","prefixes":["+48","48"]}`, http.StatusBadRequest)
	if fields, _ := e["error"].(map[string]any)["fields"].(map[string]any); fields["prefixes[1]"] == nil {
		t.Errorf("bad prefix answered %v", e)
	}
	out = admin.call(t, http.MethodPut, "/api/v1/trunks/vn", `{"host":"10.0.0.1","prefixes":[]}`, http.StatusOK)
	if ps, ok := out["prefixes"].([]any); !ok || len(ps) != 0 {
		t.Errorf("a PUT with [] answered %v", out)
	}
	if tr := storedTrunks(t, st); len(tr) != 1 || tr[0].Prefixes != nil || tr[0].Host != "10.0.0.1" {
		t.Errorf("stored: %+v", tr)
	}
}
