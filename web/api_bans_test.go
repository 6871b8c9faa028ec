package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// GET /api/v1/bans lists the bans in force from the store and DELETE
// /api/v1/bans/{ip} lifts every ban of the address, as the /security page
// does: settings.telephony (Admin yes, Agent and Team lead no), audited,
// 404 when the address has no ban.
func TestAPIBans(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	now := time.Now()
	created := now.Add(-10 * time.Minute).Truncate(time.Second)
	for _, b := range []directory.Ban{
		{Source: "203.0.113.7", Reason: "too many failed authentications", Created: created, Expires: now.Add(time.Hour), Node: "node-a"},
		{Source: "203.0.113.7", Extension: "10001", Reason: "extension under attack", Created: created, Expires: now.Add(time.Hour), Node: "node-b"},
		{Source: "2001:db8::5", Reason: "too many failed authentications", Created: created, Expires: now.Add(2 * time.Hour), Node: "node-a"},
		{Source: "192.0.2.99", Reason: "long gone", Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)},
	} {
		if err := st.PutBan(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() int {
		t.Helper()
		bs, err := st.Bans(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		return len(bs)
	}

	for _, p := range []string{pAgent, pLead} {
		c := f.api(t, ts.URL, p)
		if resp, body := c.get("/api/v1/bans"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"code": "forbidden"`) {
			t.Errorf("%s GET /api/v1/bans: %d\n%s", p, resp.StatusCode, body)
		}
		if resp, _ := c.json(http.MethodDelete, "/api/v1/bans/203.0.113.7", ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s DELETE a ban: %d, want 403", p, resp.StatusCode)
		}
	}
	if n := stored(); n != 3 {
		t.Fatalf("%d bans after refused lifts, want 3", n)
	}

	admin := f.api(t, ts.URL, pAdmin)
	resp, body := admin.get("/api/v1/bans")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin GET /api/v1/bans: %d\n%s", resp.StatusCode, body)
	}
	var got listJSON[map[string]any]
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 3 || got.Total != 3 {
		t.Fatalf("bans answered: %s", body)
	}
	var ext map[string]any
	for _, b := range got.Data {
		if b["ip"] == "192.0.2.99" {
			t.Error("an expired ban is listed")
		}
		if b["extension"] == "10001" {
			ext = b
		}
	}
	if ext == nil || ext["ip"] != "203.0.113.7" || ext["kind"] != directory.BanExtension || ext["reason"] != "extension under attack" ||
		ext["node"] != "node-b" || ext["created"] != created.UTC().Format(time.RFC3339) {
		t.Errorf("the extension lock answered %v", ext)
	}
	if !strings.Contains(body, `"kind": "source"`) || !strings.Contains(body, `"ip": "2001:db8::5"`) {
		t.Errorf("the source bans are missing\n%s", body)
	}

	// Lifting takes every ban of the address, on every node, and is audited.
	admin.call(t, http.MethodDelete, "/api/v1/bans/203.0.113.7", "", http.StatusNoContent)
	if n := stored(); n != 1 {
		t.Errorf("%d bans after lifting 203.0.113.7, want 1", n)
	}
	es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "ban."})
	if err != nil || len(es) != 1 || es[0].Action != "ban.lift" || es[0].Object != "ban:203.0.113.7" ||
		es[0].ActorID != f.users[pAdmin].ID || es[0].Detail != "2 lifted" {
		t.Errorf("audit: %+v, %v", es, err)
	}
	if e := admin.call(t, http.MethodDelete, "/api/v1/bans/203.0.113.7", "", http.StatusNotFound); e["error"].(map[string]any)["code"] != "not_found" {
		t.Errorf("second lift answered %v", e)
	}
	if e := admin.call(t, http.MethodDelete, "/api/v1/bans/not-an-ip", "", http.StatusBadRequest); !strings.HasPrefix(e["error"].(map[string]any)["message"].(string), "ip: ") {
		t.Errorf("lift of no address answered %v", e)
	}
	admin.call(t, http.MethodDelete, "/api/v1/bans/2001:db8::5", "", http.StatusNoContent)
	if n := stored(); n != 0 {
		t.Errorf("%d bans after lifting the IPv6 one, want 0", n)
	}

	for _, s := range []string{"GET    /api/v1/bans", "DELETE /api/v1/bans/{ip}"} {
		if !strings.Contains(apiReference, s) {
			t.Errorf("the API reference lacks %q", s)
		}
	}
}
