package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// The caller identity a trunk presents is chosen on the trunk form and in
// the API, stored in the trunks setting, audited, and checked: "company"
// needs the trunk's caller ID, "trunk" its username.
func TestTrunkIdentityOptions(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.as(t, ts.URL, pOwner)
	form := url.Values{"name": {"carrier"}, "host": {"sip.carrier.example"}, "username": {"acme"},
		"caller_id": {"+48221234567"}, "from_user": {"company"}, "pai": {"user"}, "privacy": {"always"},
		"diversion": {"history-info"}}
	if resp, body := c.post("/settings/trunks", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add trunk: %d\n%.500s", resp.StatusCode, body)
	}
	got := storedTrunks(t, st)
	if len(got) != 1 || got[0].FromUser != "company" || got[0].PAI != "user" || got[0].Privacy != "always" ||
		got[0].Diversion != "history-info" {
		t.Fatalf("stored %+v", got)
	}
	_, page := c.get("/settings")
	for _, want := range []string{`name="from_user"`, `<option value="company" selected>`, `<option value="history-info" selected>`} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page lacks %s", want)
		}
	}
	if !audited(t, st, "settings.trunk", "trunk:carrier") {
		t.Error("not audited")
	}

	bad := url.Values{"original": {"carrier"}, "name": {"carrier"}, "host": {"sip.carrier.example"},
		"from_user": {"trunk"}, "pai": {"company"}, "privacy": {"sometimes"}}
	resp, body := c.post("/settings/trunks", bad)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "needs the trunk&#39;s username") ||
		!strings.Contains(body, "company needs the trunk&#39;s caller ID") || !strings.Contains(body, "must be one of hidden, always") {
		t.Errorf("bad identity: %d\n%s", resp.StatusCode, body)
	}
	if got := storedTrunks(t, st); got[0].FromUser != "company" {
		t.Errorf("a refused edit was stored: %+v", got)
	}

	admin := f.api(t, ts.URL, pAdmin)
	out := admin.call(t, http.MethodGet, "/api/v1/trunks/carrier", "", http.StatusOK)
	if out["from_user"] != "company" || out["pai"] != "user" || out["privacy"] != "always" || out["diversion"] != "history-info" {
		t.Errorf("API answered %v", out)
	}
	out = admin.call(t, http.MethodPut, "/api/v1/trunks/carrier", `{"host":"sip.carrier.example","username":"acme",
		"from_user":"trunk","diversion":"diversion"}`, http.StatusOK)
	if out["from_user"] != "trunk" || out["pai"] != "none" || out["privacy"] != "hidden" || out["diversion"] != "diversion" {
		t.Errorf("API answered after PUT %v", out)
	}
	m := admin.call(t, http.MethodPost, "/api/v1/trunks", `{"name":"x","host":"h.example","pai":"company"}`, http.StatusBadRequest)
	if e, _ := m["error"].(map[string]any); e == nil || e["fields"].(map[string]any)["pai"] == nil {
		t.Errorf("pai company without caller_id: %v", m)
	}
}

// "Hide my number" is set on the user page and through the API, and
// audited.
func TestUserHideNumber(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	u := f.users[pAgent]
	c := f.as(t, ts.URL, pOwner)
	form := url.Values{"name": {u.Name}, "email": {u.Email}, "caller_id": {"+48221234500"}, "hide_number": {"1"}}
	if resp, body := c.post("/users/"+itoa(u.ID), form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save user: %d\n%.500s", resp.StatusCode, body)
	}
	read := func() *directory.User {
		t.Helper()
		x, err := st.User(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	if x := read(); !x.HideNumber || x.CallerID != "+48221234500" {
		t.Fatalf("after the form: hide %v, caller ID %q", x.HideNumber, x.CallerID)
	}
	if _, page := c.get("/users/" + itoa(u.ID)); !strings.Contains(page, `name="hide_number" value="1" checked`) {
		t.Error("the user page does not show the number hidden")
	}
	form.Del("hide_number") // an unticked box is not sent
	c.post("/users/"+itoa(u.ID), form)
	if read().HideNumber {
		t.Error("unticking did not show the number again")
	}

	owner := f.api(t, ts.URL, pOwner)
	m := owner.call(t, http.MethodPatch, "/api/v1/users/"+itoa(u.ID), `{"hide_number":true}`, http.StatusOK)
	if m["hide_number"] != true || !read().HideNumber {
		t.Errorf("PATCH hide_number: %v", m)
	}
	m = owner.call(t, http.MethodPatch, "/api/v1/users/"+itoa(u.ID), `{"name":"Renamed"}`, http.StatusOK)
	if m["hide_number"] != true {
		t.Errorf("a PATCH without hide_number changed it: %v", m)
	}
	m = owner.call(t, http.MethodPost, "/api/v1/users", `{"name":"Hidden","email":"hidden@example.com",
		"extension":"30009","hide_number":true}`, http.StatusCreated)
	if m["hide_number"] != true {
		t.Errorf("created with hide_number: %v", m)
	}
	if !audited(t, st, "user.update", "user:"+itoa(u.ID)) {
		t.Error("not audited")
	}
}
