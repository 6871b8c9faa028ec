package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestAuditSettlesADispute runs a scripted set of changes and denials and
// reads them back through GET /api/v1/audit: who, from which address and
// user agent, what changed before and after (secrets redacted), refused
// attempts on objects, and a chain that verifies.
func TestAuditSettlesADispute(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	agentID := itoa(f.users[pAgent].ID)
	admin := clientFrom(t, ts.URL, "127.0.0.5")
	admin.sid = f.sids[pAdmin]
	u, _ := url.Parse(ts.URL)
	admin.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "sb_session", Value: admin.sid, Path: "/"}})

	// Changes: the admin edits the agent's e-mail and resets their password.
	resp, _ := admin.post("/users/"+agentID, url.Values{"name": {"Agent Person"}, "email": {"agent2@example.com"},
		"language": {"en"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	if resp, _ := admin.post("/users/"+agentID+"/password", nil); resp.StatusCode != 200 {
		t.Fatalf("password reset: %d", resp.StatusCode)
	}
	// Denials: the admin tries the owner's password (403); the agent tries
	// the Support recording and a guessed user (404) by API.
	if resp, _ := admin.post("/users/"+itoa(f.users[pOwner].ID)+"/password", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("admin on the owner: %d", resp.StatusCode)
	}
	agent := f.api(t, ts.URL, pAgent)
	if resp, _ := agent.get("/api/v1/recordings/" + itoa(f.recs["support"].ID) + "/audio"); resp.StatusCode != 404 {
		t.Fatalf("agent on a recording out of scope: %d", resp.StatusCode)
	}
	if resp, _ := agent.get("/api/v1/users/999999"); resp.StatusCode != 404 {
		t.Fatalf("agent on a guessed user: %d", resp.StatusCode)
	}
	if resp, _ := agent.get("/api/v1/audit"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("agent reads the audit log: %d, want 403", resp.StatusCode)
	}

	type entry struct {
		ID       int64             `json:"id"`
		Actor    string            `json:"actor"`
		ActorID  int64             `json:"actor_id"`
		IP       string            `json:"ip"`
		UA       string            `json:"user_agent"`
		Action   string            `json:"action"`
		Object   string            `json:"object"`
		Detail   string            `json:"detail"`
		Before   map[string]string `json:"before"`
		After    map[string]string `json:"after"`
		Hash     string            `json:"hash"`
		PrevHash string            `json:"prev_hash"`
	}
	read := func(query string) []entry {
		t.Helper()
		resp, body := f.api(t, ts.URL, pOwner).get("/api/v1/audit?" + query)
		if resp.StatusCode != 200 {
			t.Fatalf("audit %s: %d %s", query, resp.StatusCode, body)
		}
		var l struct{ Data []entry }
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		return l.Data
	}
	es := read("object=user:" + agentID + "&action=user.")
	if len(es) != 2 || es[0].Action != "user.password.reset" || es[1].Action != "user.update" {
		t.Fatalf("changes to the agent: %+v", es)
	}
	up := es[1]
	if up.IP != "127.0.0.5" || up.UA != "Go-http-client/1.1" || up.ActorID != f.users[pAdmin].ID ||
		up.Before["email"] != "agent@example.com" || up.After["email"] != "agent2@example.com" || up.Before["name"] != "" {
		t.Errorf("user.update entry: %+v", up)
	}
	if pw := es[0]; pw.Before["password"] != directory.Redacted || pw.After["password"] != directory.Redacted ||
		pw.Hash == "" || pw.PrevHash != up.Hash {
		t.Errorf("password reset entry: %+v", pw)
	}
	denied := read("action=access.denied")
	want := map[string]string{"user:" + itoa(f.users[pOwner].ID): "403", "recording:" + itoa(f.recs["support"].ID): "404",
		"user:999999": "404"}
	if len(denied) != len(want) {
		t.Fatalf("denied attempts: %+v", denied)
	}
	for _, d := range denied {
		if !strings.Contains(d.Detail, want[d.Object]) || d.Actor == "" {
			t.Errorf("denied entry %+v", d)
		}
	}
	if got := read("actor=" + itoa(f.users[pAdmin].ID) + "&from=2000-01-01&per_page=1"); len(got) != 1 {
		t.Errorf("actor filter with paging: %d entries", len(got))
	}
	if got := read("to=2000-01-01"); len(got) != 0 {
		t.Errorf("time range before everything: %d entries", len(got))
	}
	if resp, _ := f.api(t, ts.URL, pOwner).get("/api/v1/audit?from=yesterday"); resp.StatusCode != 400 {
		t.Errorf("bad date: %d, want 400", resp.StatusCode)
	}
	// The page shows the same, with the filters.
	if resp, body := f.as(t, ts.URL, pAdmin).get("/audit?object=user:" + agentID); resp.StatusCode != 200 ||
		!strings.Contains(body, "127.0.0.5") || !strings.Contains(body, "agent2@example.com") {
		t.Errorf("audit page: %d", resp.StatusCode)
	}
	// The whole log verifies.
	var chain directory.AuditChain
	all, err := st.AuditRange(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if err := chain.Next(&all[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditChangesBeforeAfter: groups, contacts, roles, trunks and numbers
// changed through the API leave the changed fields before and after; a
// trunk password shows only as redacted, never in any form.
func TestAuditChangesBeforeAfter(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.api(t, ts.URL, pOwner)
	for _, req := range []struct{ method, path, body string }{
		{http.MethodPatch, "/api/v1/groups/" + itoa(f.groups["empty"].ID), `{"name":"Renamed"}`},
		{http.MethodPatch, "/api/v1/contacts/" + itoa(f.cons["sales"].ID), `{"name":"Acme 2"}`},
		{http.MethodPatch, "/api/v1/roles/" + itoa(f.roles["lead"].ID), `{"permissions":{"calls.history":"own"}}`},
		{http.MethodPost, "/api/v1/trunks", `{"name":"t1","host":"sip.example.com","password":"Trunk-s3cret-1"}`},
		{http.MethodPut, "/api/v1/trunks/t1", `{"host":"sip2.example.com","password":"Trunk-s3cret-2"}`},
		{http.MethodPost, "/api/v1/dids", `{"number":"+48221000009","extension":"20001"}`},
	} {
		if resp, body := c.json(req.method, req.path, req.body); resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", req.method, req.path, resp.StatusCode, body)
		}
	}
	es, err := st.AuditRange(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]directory.AuditEntry{}
	for _, e := range es {
		got[e.Object+" "+e.Action] = e
		for _, s := range []string{e.Detail, e.Before, e.After} {
			if strings.Contains(s, "Trunk-s3cret") {
				t.Errorf("%s: the trunk password is in the log: %q", e.Action, s)
			}
		}
	}
	for key, want := range map[string][2]string{
		"group:" + itoa(f.groups["empty"].ID) + " group.update":   {`{"name":"Empty group"}`, `{"name":"Renamed"}`},
		"contact:" + itoa(f.cons["sales"].ID) + " contact.update": {`{"name":"Acme (Sales)"}`, `{"name":"Acme 2"}`},
		"trunk:t1 settings.trunk": {`{"host":"sip.example.com","password":"[redacted]"}`,
			`{"host":"sip2.example.com","password":"[redacted]"}`},
		"did:+48221000009 numbers.did": {`{"extension":""}`, `{"extension":"20001"}`},
	} {
		e, ok := got[key]
		if !ok || e.Before != want[0] || e.After != want[1] {
			t.Errorf("%s: before %q after %q, want %q %q", key, e.Before, e.After, want[0], want[1])
		}
	}
	if e := got["role:"+itoa(f.roles["lead"].ID)+" role.update"]; !strings.Contains(e.Before, "calls.history=department") ||
		!strings.Contains(e.After, "calls.history=own") {
		t.Errorf("role update: %q → %q", e.Before, e.After)
	}
}
