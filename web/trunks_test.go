package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// The owner adds, edits and removes a trunk from the settings page; the
// password is written, never shown, and kept when the form leaves it empty.
func TestSettingsTrunks(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.as(t, ts.URL, pOwner)
	form := url.Values{"name": {"carrier"}, "host": {"sip.carrier.example"}, "port": {"5080"}, "transport": {"UDP"},
		"username": {"acme"}, "password": {"trunk-s3cret"}, "register": {"1"}, "caller_id": {"+48221234567"}}
	if resp, body := c.post("/settings/trunks", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add trunk: %d\n%.500s", resp.StatusCode, body)
	}
	stored := func() []directory.TrunkSetting {
		t.Helper()
		v, err := st.Setting(t.Context(), directory.SettingTrunks)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := directory.ParseTrunks(v)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	if tr := stored(); len(tr) != 1 || tr[0].Password != "trunk-s3cret" || tr[0].Port != 5080 || !tr[0].Register {
		t.Fatalf("stored trunks %+v", tr)
	}
	_, page := c.get("/settings")
	if !strings.Contains(page, "sip.carrier.example") || strings.Contains(page, "trunk-s3cret") {
		t.Errorf("settings page: the trunk is missing or its password shows\n%s", page[strings.Index(page, "<main>"):])
	}

	// Edit with the password left empty: it stays.
	form.Set("original", "carrier")
	form.Set("host", "10.1.2.3")
	form.Set("password", "")
	if resp, body := c.post("/settings/trunks", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit trunk: %d\n%.500s", resp.StatusCode, body)
	}
	if tr := stored(); len(tr) != 1 || tr[0].Host != "10.1.2.3" || tr[0].Password != "trunk-s3cret" {
		t.Errorf("after the edit: %+v", tr)
	}

	// A mistake names the field and keeps what was stored.
	bad := url.Values{"name": {"second"}, "host": {""}, "caller_id": {"123"}}
	resp, body := c.post("/settings/trunks", bad)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "is required") || !strings.Contains(body, "E.164") {
		t.Errorf("trunk without host: %d\n%.500s", resp.StatusCode, body)
	}
	if tr := stored(); len(tr) != 1 {
		t.Errorf("a refused trunk was stored: %+v", tr)
	}
	// The generic settings form cannot write trunks around the checks.
	c.post("/settings", url.Values{"trunks": {"[]"}})
	if tr := stored(); len(tr) != 1 {
		t.Errorf("the settings form wrote trunks: %+v", tr)
	}
	entries, err := st.AuditLog(t.Context(), directory.AuditFilter{Page: directory.Page{Number: 1, Size: 50}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Detail, "trunk-s3cret") {
			t.Errorf("audit entry %s shows the password", e.Action)
		}
	}

	if resp, body := c.post("/settings/trunks/delete", url.Values{"name": {"carrier"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete trunk: %d\n%.500s", resp.StatusCode, body)
	}
	if tr := stored(); len(tr) != 0 {
		t.Errorf("after delete: %+v", tr)
	}
	// An agent holds neither permission.
	a := f.as(t, ts.URL, pAgent)
	if resp, _ := a.post("/settings/trunks", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent adds a trunk: %d", resp.StatusCode)
	}
	if resp, _ := a.get("/numbers"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent opens the numbers: %d", resp.StatusCode)
	}
}

func TestNumbersDIDs(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.as(t, ts.URL, pAdmin)
	if resp, body := c.post("/numbers", url.Values{"number": {"+48 22 123 45 67"}, "extension": {"10100"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add DID: %d\n%.500s", resp.StatusCode, body)
	}
	v, _ := st.Setting(t.Context(), directory.SettingDIDs)
	if m, err := directory.ParseDIDs(v); err != nil || m["+48221234567"] != "10100" {
		t.Errorf("stored dids %q, %v", v, err)
	}
	if _, page := c.get("/numbers"); !strings.Contains(page, "48221234567") || !strings.Contains(page, "10100") {
		t.Errorf("numbers page lacks the DID\n%.2000s", page)
	}
	if resp, body := c.post("/numbers", url.Values{"number": {"12x"}, "extension": {"10100"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "must be a phone number") {
		t.Errorf("bad number: %d\n%.500s", resp.StatusCode, body)
	}
	if resp, _ := c.post("/numbers/delete", url.Values{"number": {"+48221234567"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete DID: %d", resp.StatusCode)
	}
	if v, _ := st.Setting(t.Context(), directory.SettingDIDs); v != "{}" {
		t.Errorf("after delete: %q", v)
	}
}

// The dashboard lists the calls the live state reports, to those who may
// monitor them.
func TestDashboardActiveCalls(t *testing.T) {
	f := newFixture(t)
	_, st, _ := f.open(t)
	live := callsLive{calls: []ActiveCall{{CallID: "c1", CallerID: f.users[pAgent].ID, From: "10001", To: "+48221234567",
		State: "talking", StartedAt: time.Now()}}}
	s, err := New(Config{Addr: "127.0.0.1:0"}, st, live, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	ts := hs.URL
	if _, page := f.as(t, ts, pOwner).get("/"); !strings.Contains(page, "48221234567") || !strings.Contains(page, "In call") ||
		!strings.Contains(page, "Carrier registrations") || !strings.Contains(page, "403 Forbidden") {
		t.Errorf("owner's dashboard lacks the call\n%.3000s", page)
	}
	if _, page := f.as(t, ts, pAgent).get("/"); strings.Contains(page, "48221234567") || strings.Contains(page, "403 Forbidden") {
		t.Errorf("agent's dashboard shows a call or a trunk")
	}
}

type callsLive struct{ calls []ActiveCall }

func (callsLive) TrunkRegistrations() []TrunkStatus {
	return []TrunkStatus{{Trunk: "carrier", State: "failed", Error: "403 Forbidden"}}
}

func (callsLive) Registrations() []directory.Binding { return nil }
func (l callsLive) ActiveCalls() []ActiveCall        { return l.calls }
