package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// The trunk, number and banned address the authorization matrix
// addresses by name.
const (
	seedTrunk = "carrier"
	seedDID   = "+48221000001"
	seedBanIP = "203.0.113.66"
)

// seedTelephony gives a store of the fixture one trunk, one inbound
// number and one SIP ban, so that /trunks/{name}, /dids/{number} and
// /bans/{ip} have an object.
func seedTelephony(t *testing.T, st directory.Store) {
	t.Helper()
	if err := st.SetSetting(t.Context(), directory.SettingTrunks, `[{"name":"`+seedTrunk+`","host":"sip.carrier.example",`+
		`"username":"acme","password":"trunk-s3cret","register":true}]`); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(t.Context(), directory.SettingDIDs, `{"`+seedDID+`":"20004"}`); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBan(t.Context(), directory.Ban{Source: seedBanIP, Reason: "too many failed authentications",
		Expires: time.Now().Add(time.Hour), Node: "node-a"}); err != nil {
		t.Fatal(err)
	}
	seedHours(t, st) // hours_test.go
}

func storedTrunks(t *testing.T, st directory.Store) []directory.TrunkSetting {
	t.Helper()
	v, err := st.Setting(t.Context(), directory.SettingTrunks)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := directory.ParseTrunks(v)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestAPITrunks(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	seedTelephony(t, st)
	admin := f.api(t, ts.URL, pAdmin)
	agent := f.api(t, ts.URL, pAgent)

	// settings.telephony: an Agent has none, an Admin has it.
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if resp, body := agent.json(m, "/api/v1/trunks", `{"name":"x","host":"h"}`); resp.StatusCode != http.StatusForbidden ||
			!strings.Contains(body, `"code": "forbidden"`) {
			t.Errorf("agent %s /api/v1/trunks: %d\n%s", m, resp.StatusCode, body)
		}
	}
	if resp, _ := agent.get("/api/v1/trunks/" + seedTrunk); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent GET a trunk: %d", resp.StatusCode)
	}
	resp, body := admin.get("/api/v1/trunks")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"host": "sip.carrier.example"`) ||
		!strings.Contains(body, `"password_set": true`) {
		t.Fatalf("admin lists trunks: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "trunk-s3cret") || strings.Contains(body, `"password"`) {
		t.Errorf("the trunk list shows a password\n%s", body)
	}

	// Create: 201, the password stored but never answered.
	out := admin.call(t, http.MethodPost, "/api/v1/trunks", `{"name":"backup","host":"10.0.0.9","port":5080,
		"transport":"tcp","username":"acme2","password":"back-s3cret","register":true,"caller_id":"+48221234567"}`, http.StatusCreated)
	if out["name"] != "backup" || out["transport"] != "TCP" || out["password_set"] != true || out["password"] != nil {
		t.Errorf("created trunk answered %v", out)
	}
	if got := storedTrunks(t, st); len(got) != 2 || got[1].Password != "back-s3cret" || got[1].Port != 5080 {
		t.Fatalf("stored trunks %+v", got)
	}
	if !audited(t, st, "settings.trunk", "trunk:backup") {
		t.Error("trunk creation not audited")
	}

	// Mistakes name the field; a taken name is a conflict.
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"no host", http.MethodPost, "/api/v1/trunks", `{"name":"third"}`, 400, "host"},
		{"port out of range", http.MethodPost, "/api/v1/trunks", `{"name":"third","host":"h.example","port":70000}`, 400, "port"},
		{"port not a number", http.MethodPost, "/api/v1/trunks", `{"name":"third","host":"h.example","port":"5060"}`, 400, "port"},
		{"register without password", http.MethodPost, "/api/v1/trunks", `{"name":"third","host":"h.example","register":true}`, 400, "register"},
		{"bad caller ID", http.MethodPut, "/api/v1/trunks/backup", `{"host":"h.example","caller_id":"12"}`, 400, "caller_id"},
		{"name taken", http.MethodPost, "/api/v1/trunks", `{"name":"carrier","host":"h.example"}`, 409, ""},
		{"rename onto another", http.MethodPut, "/api/v1/trunks/backup", `{"name":"carrier","host":"h.example"}`, 409, ""},
		{"unknown field", http.MethodPost, "/api/v1/trunks", `{"name":"third","host":"h.example","secret":"x"}`, 400, "secret"},
	} {
		m := admin.call(t, tc.method, tc.path, tc.body, tc.status)
		e, _ := m["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if tc.field != "" {
			fields, _ := e["fields"].(map[string]any)
			if e["code"] != "invalid" || fields[tc.field] == nil || !strings.HasPrefix(msg, tc.field+": ") {
				t.Errorf("%s: error %v, want code invalid naming %s", tc.name, e, tc.field)
			}
		} else if e["code"] != "conflict" || !strings.HasPrefix(msg, "name: ") {
			t.Errorf("%s: error %v, want a conflict on name", tc.name, e)
		}
	}
	if got := storedTrunks(t, st); len(got) != 2 || got[1].Host != "10.0.0.9" {
		t.Errorf("refused changes were stored: %+v", got)
	}

	// Update without a password keeps it; a name in the body renames.
	out = admin.call(t, http.MethodPut, "/api/v1/trunks/backup", `{"name":"backup-2","host":"10.0.0.10","username":"acme2",
		"register":true}`, http.StatusOK)
	if out["name"] != "backup-2" || out["password_set"] != true || out["port"] != nil {
		t.Errorf("updated trunk answered %v", out)
	}
	if got := storedTrunks(t, st); len(got) != 2 || got[1].Name != "backup-2" || got[1].Password != "back-s3cret" || got[1].Port != 0 {
		t.Errorf("after update: %+v", got)
	}
	if resp, _ := admin.get("/api/v1/trunks/backup"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("old name after rename: %d", resp.StatusCode)
	}
	admin.call(t, http.MethodPut, "/api/v1/trunks/nope", `{"host":"h.example"}`, http.StatusNotFound)

	// Delete.
	admin.call(t, http.MethodDelete, "/api/v1/trunks/backup-2", "", http.StatusNoContent)
	admin.call(t, http.MethodDelete, "/api/v1/trunks/backup-2", "", http.StatusNotFound)
	if got := storedTrunks(t, st); len(got) != 1 || got[0].Name != seedTrunk {
		t.Errorf("after delete: %+v", got)
	}
	if !audited(t, st, "settings.trunk.delete", "trunk:backup-2") {
		t.Error("trunk deletion not audited")
	}
	entries, err := st.AuditLog(t.Context(), directory.AuditFilter{Page: directory.Page{Number: 1, Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Detail, "s3cret") {
			t.Errorf("audit entry %s shows a password", e.Action)
		}
	}
}

func TestAPIDIDs(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	seedTelephony(t, st)
	admin := f.api(t, ts.URL, pAdmin)
	agent := f.api(t, ts.URL, pAgent)

	if resp, _ := agent.get("/api/v1/dids"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent lists DIDs: %d", resp.StatusCode)
	}
	if resp, _ := agent.json(http.MethodPost, "/api/v1/dids", `{"number":"+48221234567","extension":"20004"}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent adds a DID: %d", resp.StatusCode)
	}
	out := admin.call(t, http.MethodPost, "/api/v1/dids", `{"number":"+48 22 123 45 67","extension":"20004"}`, http.StatusCreated)
	if out["number"] != "+48221234567" || out["extension"] != "20004" {
		t.Errorf("created DID answered %v", out)
	}
	if !audited(t, st, "numbers.did", "did:+48221234567") {
		t.Error("DID creation not audited")
	}
	resp, body := admin.get("/api/v1/dids")
	if resp.StatusCode != http.StatusOK || strings.Index(body, seedDID) > strings.Index(body, "+48221234567") {
		t.Errorf("DID list: %d, want both numbers sorted\n%s", resp.StatusCode, body)
	}
	if out := admin.call(t, http.MethodGet, "/api/v1/dids/+48221234567", "", http.StatusOK); out["extension"] != "20004" {
		t.Errorf("GET DID: %v", out)
	}

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"bad number", http.MethodPost, "/api/v1/dids", `{"number":"12x","extension":"20004"}`, 400, "number"},
		{"bad extension", http.MethodPost, "/api/v1/dids", `{"number":"+48221234568","extension":"12"}`, 400, "extension"},
		{"taken number", http.MethodPost, "/api/v1/dids", `{"number":"+48221234567","extension":"20005"}`, 409, "number"},
		{"bad extension on update", http.MethodPut, "/api/v1/dids/+48221234567", `{"extension":"abc"}`, 400, "extension"},
		{"another number in the body", http.MethodPut, "/api/v1/dids/+48221234567", `{"number":"+1","extension":"20005"}`, 400, "number"},
		{"unmapped number", http.MethodPut, "/api/v1/dids/+48229999999", `{"extension":"20005"}`, 404, ""},
	} {
		m := admin.call(t, tc.method, tc.path, tc.body, tc.status)
		e, _ := m["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if tc.field != "" && !strings.HasPrefix(msg, tc.field+": ") {
			t.Errorf("%s: error %v, want it to name %s", tc.name, e, tc.field)
		}
	}
	out = admin.call(t, http.MethodPut, "/api/v1/dids/+48221234567", `{"extension":"20005"}`, http.StatusOK)
	if out["extension"] != "20005" {
		t.Errorf("updated DID answered %v", out)
	}
	v, _ := st.Setting(t.Context(), directory.SettingDIDs)
	if m, err := directory.ParseDIDs(v); err != nil || m["+48221234567"] != "20005" || m[seedDID] != "20004" || len(m) != 2 {
		t.Errorf("stored dids %q, %v", v, err)
	}
	admin.call(t, http.MethodDelete, "/api/v1/dids/+48221234567", "", http.StatusNoContent)
	admin.call(t, http.MethodGet, "/api/v1/dids/+48221234567", "", http.StatusNotFound)
	if !audited(t, st, "numbers.did.delete", "did:+48221234567") {
		t.Error("DID deletion not audited")
	}
}

// The API reference lists the new endpoints.
func TestAPIReferenceTelephony(t *testing.T) {
	for _, s := range []string{"/api/v1/trunks", "/api/v1/trunks/{name}", "/api/v1/dids", "/api/v1/dids/{number}",
		"settings.telephony", "numbers.manage", "time zone"} {
		if !strings.Contains(apiReference, s) {
			t.Errorf("API reference lacks %q", s)
		}
	}
}
