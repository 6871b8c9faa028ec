package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// The security page lists the bans in force from the store, and lifting
// one (a form with its token) removes every ban of the source from the
// store, for every node, and writes the audit log.
func TestSecurityPageListsAndLiftsBans(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	now := time.Now()
	for _, b := range []directory.Ban{
		{Source: "203.0.113.7", Reason: "too many failed authentications", Expires: now.Add(time.Hour), Node: "node-a"},
		{Source: "203.0.113.7", Extension: "10001", Reason: "extension under attack", Expires: now.Add(time.Hour), Node: "node-b"},
		{Source: "198.51.100.4", Reason: "too many failed authentications", Expires: now.Add(2 * time.Hour), Node: "node-a"},
		{Source: "192.0.2.99", Reason: "long gone", Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)},
	} {
		if err := st.PutBan(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}

	admin := f.as(t, ts.URL, pAdmin)
	resp, body := admin.get("/security")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /security: %d\n%.300s", resp.StatusCode, body)
	}
	for _, want := range []string{"203.0.113.7", "198.51.100.4", "Extension lock", "Whole source", "node-b",
		"extension under attack", `action="/security/lift"`, `href="/security"`} {
		if !strings.Contains(body, want) {
			t.Errorf("security page lacks %q", want)
		}
	}
	if strings.Contains(body, "192.0.2.99") {
		t.Error("an expired ban is listed")
	}

	// Agents may neither see nor lift bans.
	agent := f.as(t, ts.URL, pAgent)
	if resp, _ := agent.get("/security"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent GET /security: %d, want 403", resp.StatusCode)
	}
	if resp, _ := agent.post("/security/lift", url.Values{"ip": {"203.0.113.7"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent lift: %d, want 403", resp.StatusCode)
	}
	if _, body := agent.get("/"); strings.Contains(body, `href="/security"`) {
		t.Error("agent's navigation links to the security page")
	}
	// A form without its token is refused.
	resp, _ = admin.do(http.MethodPost, "/security/lift", url.Values{"ip": {"203.0.113.7"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("lift without the form token: %d, want 403", resp.StatusCode)
	}
	if bs, _ := st.Bans(t.Context(), now); len(bs) != 3 {
		t.Fatalf("bans lifted by refused requests: %+v", bs)
	}

	resp, _ = admin.post("/security/lift", url.Values{"ip": {"203.0.113.7"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/security?done=lifted" {
		t.Fatalf("lift: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	bs, err := st.Bans(t.Context(), now)
	if err != nil || len(bs) != 1 || bs[0].Source != "198.51.100.4" {
		t.Errorf("bans after lifting 203.0.113.7: %+v, %v", bs, err)
	}
	es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "ban."})
	if err != nil || len(es) != 1 || es[0].Action != "ban.lift" || es[0].Object != "ban:203.0.113.7" ||
		es[0].ActorID != f.users[pAdmin].ID || es[0].Detail != "2 lifted" {
		t.Errorf("audit: %+v, %v", es, err)
	}
	if _, body := admin.get("/security?done=lifted"); !strings.Contains(body, "The ban is lifted on every node.") ||
		strings.Contains(body, "203.0.113.7") {
		t.Errorf("page after the lift:\n%.2000s", body)
	}

	// Lifting what is not banned, or not an address, is the form's mistake.
	for _, ip := range []string{"203.0.113.7", "pbx.example.com", ""} {
		if resp, _ := admin.post("/security/lift", url.Values{"ip": {ip}}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("lift %q: %d, want 400", ip, resp.StatusCode)
		}
	}
}
