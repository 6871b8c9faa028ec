package web

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// call sends a JSON change as persona p and decodes the answer, failing the
// test when the status is not want.
func (c *client) call(t *testing.T, method, path, body string, want int) map[string]any {
	t.Helper()
	resp, out := c.json(method, path, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s %s: %d, want %d\n%s", method, path, body, resp.StatusCode, want, out)
	}
	m := map[string]any{}
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, out)
		}
	}
	return m
}

// audited says whether the store's audit log has an entry with the action
// about the object.
func audited(t *testing.T, st directory.Store, action, object string) bool {
	t.Helper()
	es, err := st.AuditLog(context.Background(), directory.AuditFilter{Action: action, Page: directory.Page{Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Action == action && e.Object == object {
			return true
		}
	}
	return false
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

func TestAPIUserRoundTrip(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	owner := f.api(t, ts.URL, pOwner)

	body := `{"name":"Nina Nowak","email":"Nina@Example.com","extension":"30001","mobile":"+48601000300",
		"role_ids":[` + itoa(f.roles[directory.BuiltinAgent].ID) + `],"group_ids":[` + itoa(f.groups["support"].ID) + `]}`
	resp, out := owner.json(http.MethodPost, "/api/v1/users", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d\n%s", resp.StatusCode, out)
	}
	var u struct {
		userJSON
		ExtPassword string `json:"ext_password"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		t.Fatal(err)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/users/"+itoa(u.ID) {
		t.Errorf("Location %q", loc)
	}
	if u.Email != "nina@example.com" || u.Extension != "30001" || len(u.ExtPassword) < 12 {
		t.Errorf("created %+v", u)
	}
	id := "/api/v1/users/" + itoa(u.ID)
	if !audited(t, st, "user.create", "user:"+itoa(u.ID)) {
		t.Error("user.create not audited")
	}
	if resp, _ := owner.get(id); resp.StatusCode != http.StatusOK {
		t.Errorf("GET the new user: %d", resp.StatusCode)
	}

	// A given extension password is not answered back.
	m := owner.call(t, http.MethodPost, "/api/v1/users", `{"name":"Olek","email":"olek@example.com",
		"extension":"30002","ext_password":"Quite-long-secret-9"}`, http.StatusCreated)
	if _, ok := m["ext_password"]; ok {
		t.Error("a given ext_password was answered")
	}

	m = owner.call(t, http.MethodPatch, id, `{"name":"Nina Nowak-Kowalska","caller_id":" +48221234500 "}`, http.StatusOK)
	if m["name"] != "Nina Nowak-Kowalska" || m["caller_id"] != "+48221234500" || m["email"] != "nina@example.com" {
		t.Errorf("patched: %v", m)
	}
	if !audited(t, st, "user.update", "user:"+itoa(u.ID)) {
		t.Error("user.update not audited")
	}

	m = owner.call(t, http.MethodPut, id+"/overrides", `{"calls.history":"any"}`, http.StatusOK)
	a, err := st.Access(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Overrides["calls.history"] != "any" || len(a.Overrides) != 1 {
		t.Errorf("overrides %v", a.Overrides)
	}
	owner.call(t, http.MethodPut, id+"/overrides", `{}`, http.StatusOK)
	if a, _ := st.Access(context.Background(), u.ID); len(a.Overrides) != 0 {
		t.Errorf("after reset: %v", a.Overrides)
	}
	if !audited(t, st, "user.overrides.reset", "user:"+itoa(u.ID)) {
		t.Error("reset to role not audited")
	}

	m = owner.call(t, http.MethodPost, id+"/ext-password", ``, http.StatusOK)
	if pw, _ := m["ext_password"].(string); len(pw) < 12 || pw == u.ExtPassword {
		t.Errorf("new ext password %q", pw)
	}

	if m := owner.call(t, http.MethodPost, id+"/block", ``, http.StatusOK); m["state"] != "blocked" {
		t.Errorf("blocked: %v", m)
	}
	if m := owner.call(t, http.MethodPost, id+"/unblock", ``, http.StatusOK); m["state"] != "active" {
		t.Errorf("unblocked: %v", m)
	}
	owner.call(t, http.MethodDelete, id, ``, http.StatusNoContent)
	if got, _ := st.User(context.Background(), u.ID); got.State != directory.UserDeleted {
		t.Errorf("state after delete %s", got.State)
	}
	for _, action := range []string{"user.block", "user.unblock", "user.delete", "user.ext_password.reset"} {
		if !audited(t, st, action, "user:"+itoa(u.ID)) {
			t.Errorf("%s not audited", action)
		}
	}
}

func TestAPIGroupRoleContactRoundTrips(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	owner := f.api(t, ts.URL, pOwner)

	t.Run("group", func(t *testing.T) {
		m := owner.call(t, http.MethodPost, "/api/v1/groups", `{"name":"Billing","parent_id":`+itoa(f.groups["support"].ID)+`}`,
			http.StatusCreated)
		gid := num(m["id"])
		id := "/api/v1/groups/" + itoa(gid)
		m = owner.call(t, http.MethodPatch, id, `{"name":"Billing & Invoices","extension":"40001"}`, http.StatusOK)
		if m["name"] != "Billing & Invoices" || m["extension"] != "40001" || num(m["parent_id"]) != f.groups["support"].ID {
			t.Errorf("patched %v", m)
		}
		agent := itoa(f.users[pAgent].ID)
		m = owner.call(t, http.MethodPost, id+"/members/"+agent, ``, http.StatusOK)
		if ids, _ := m["group_ids"].([]any); len(ids) != 2 {
			t.Errorf("after add: %v", m["group_ids"])
		}
		owner.call(t, http.MethodDelete, id, ``, http.StatusConflict) // a member left
		m = owner.call(t, http.MethodDelete, id+"/members/"+agent, ``, http.StatusOK)
		if ids, _ := m["group_ids"].([]any); len(ids) != 1 || num(ids[0]) != f.groups["north"].ID {
			t.Errorf("after remove: %v", m["group_ids"])
		}
		owner.call(t, http.MethodDelete, id, ``, http.StatusNoContent)
		owner.call(t, http.MethodDelete, id, ``, http.StatusNotFound)
		for _, a := range []string{"group.create", "group.update", "group.delete"} {
			if !audited(t, st, a, "group:"+itoa(gid)) {
				t.Errorf("%s not audited", a)
			}
		}
		if !audited(t, st, "user.access", "user:"+agent) {
			t.Error("membership change not audited")
		}
	})

	t.Run("role", func(t *testing.T) {
		m := owner.call(t, http.MethodPost, "/api/v1/roles",
			`{"name":"Night shift","permissions":{"users.view":"department","calls.history":"own","contacts.view":"none"}}`,
			http.StatusCreated)
		rid := num(m["id"])
		id := "/api/v1/roles/" + itoa(rid)
		if p, _ := m["permissions"].(map[string]any); len(p) != 2 {
			t.Errorf("created %v", m)
		}
		// Give it to the peer, then narrow it keeping the peer as they are.
		peer := f.users[pPeer].ID
		roles := itoa(f.roles[directory.BuiltinAgent].ID) + "," + itoa(rid)
		owner.call(t, http.MethodPatch, "/api/v1/users/"+itoa(peer), `{"role_ids":[`+roles+`]}`, http.StatusOK)
		m = owner.call(t, http.MethodPatch, id, `{"name":"Night","permissions":{"calls.history":"own"},"keep_members":true}`,
			http.StatusOK)
		if m["name"] != "Night" {
			t.Errorf("patched %v", m)
		}
		a, err := st.Access(context.Background(), peer)
		if err != nil {
			t.Fatal(err)
		}
		if a.Overrides["users.view"] != "department" {
			t.Errorf("keep_members: overrides %v", a.Overrides)
		}
		owner.call(t, http.MethodDelete, id, ``, http.StatusConflict) // the peer holds it
		owner.call(t, http.MethodPatch, "/api/v1/users/"+itoa(peer),
			`{"role_ids":[`+itoa(f.roles[directory.BuiltinAgent].ID)+`]}`, http.StatusOK)
		owner.call(t, http.MethodDelete, id, ``, http.StatusNoContent)
		for _, a := range []string{"role.create", "role.update", "role.delete"} {
			if !audited(t, st, a, "role:"+itoa(rid)) {
				t.Errorf("%s not audited", a)
			}
		}
	})

	t.Run("contact", func(t *testing.T) {
		agent := f.api(t, ts.URL, pAgent)
		m := agent.call(t, http.MethodPost, "/api/v1/contacts", `{"name":"Initech","phones":["22 765 43 21"]}`,
			http.StatusCreated)
		cid := num(m["id"])
		id := "/api/v1/contacts/" + itoa(cid)
		if ph, _ := m["phones"].([]any); len(ph) != 1 || ph[0] != "+48227654321" {
			t.Errorf("phones not normalized with numbers.default_country: %v", m["phones"])
		}
		if num(m["assigned_to"]) != f.users[pAgent].ID {
			t.Errorf("assigned_to %v, want the creator", m["assigned_to"])
		}
		m = agent.call(t, http.MethodPatch, id, `{"company":"Initech Sp. z o.o.","phones":["+48 22 765 43 21","601 000 400"]}`,
			http.StatusOK)
		if m["name"] != "Initech" || len(m["phones"].([]any)) != 2 {
			t.Errorf("patched %v", m)
		}
		// Someone who does not see it cannot change it either.
		f.api(t, ts.URL, pPeer).call(t, http.MethodPatch, id, `{"name":"Mine"}`, http.StatusNotFound)
		agent.call(t, http.MethodDelete, id, ``, http.StatusNoContent)
		agent.call(t, http.MethodDelete, id, ``, http.StatusNotFound)
		for _, a := range []string{"contact.create", "contact.update", "contact.delete"} {
			if !audited(t, st, a, "contact:"+itoa(cid)) {
				t.Errorf("%s not audited", a)
			}
		}
	})

	t.Run("recording", func(t *testing.T) {
		id := "/api/v1/recordings/" + itoa(f.recs["support"].ID)
		f.api(t, ts.URL, pAdmin).call(t, http.MethodDelete, id, ``, http.StatusForbidden) // Admin: recordings.delete none
		owner.call(t, http.MethodDelete, id, ``, http.StatusNoContent)
		owner.call(t, http.MethodDelete, id, ``, http.StatusNotFound)
		if resp, _ := owner.get(id); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET a deleted recording: %d", resp.StatusCode)
		}
		if !audited(t, st, "recording.delete", "recording:"+itoa(f.recs["support"].ID)) {
			t.Error("recording.delete not audited")
		}
	})
}

// TestAPIRefusals: the API answers as the pages decide. Each case runs on a
// fresh copy of the fixture.
func TestAPIRefusals(t *testing.T) {
	f := newFixture(t)
	newUser := `{"name":"Zed","email":"zed@example.com","extension":"30009"}`
	cases := []struct {
		name, persona, method, path, body string
		want                              int
		fields                            []string // named in a 400
	}{
		{"001 an agent cannot create users", pAgent, http.MethodPost, "/api/v1/users", newUser, 403, nil},
		{"000 an admin cannot create users: only the owner", pAdmin, http.MethodPost, "/api/v1/users", newUser, 403, nil},
		{"000 an admin cannot delete users", pAdmin, http.MethodDelete, "/api/v1/users/{agent}", ``, 403, nil},
		{"an agent cannot create groups", pAgent, http.MethodPost, "/api/v1/groups", `{"name":"Mine"}`, 403, nil},
		{"an admin cannot create roles", pAdmin, http.MethodPost, "/api/v1/roles", `{"name":"Mine"}`, 403, nil},
		{"an agent cannot change their own roles", pAgent, http.MethodPatch, "/api/v1/users/{agent}",
			`{"role_ids":[{adminRole}]}`, 403, nil},
		{"an agent cannot set their own overrides", pAgent, http.MethodPut, "/api/v1/users/{agent}/overrides",
			`{"users.view":"any"}`, 403, nil},
		{"escalation: a department lead cannot grant the Admin role", pLead, http.MethodPatch, "/api/v1/users/{agent}",
			`{"role_ids":[{adminRole}]}`, 403, nil},
		{"escalation: nor an override above their own scope", pLead, http.MethodPut, "/api/v1/users/{agent}/overrides",
			`{"calls.history":"any"}`, 403, nil},
		{"escalation: nor move a member into another group", pLead, http.MethodPatch, "/api/v1/users/{agent}",
			`{"group_ids":[{support}]}`, 403, nil},
		{"a department lead edits their member's profile", pLead, http.MethodPatch, "/api/v1/users/{agent}",
			`{"mobile":"+48601000222"}`, 200, nil},
		{"an admin cannot put an owner into a group", pAdmin, http.MethodPost, "/api/v1/groups/{support}/members/{owner}",
			``, 403, nil},
		{"invalid user: every field named", pOwner, http.MethodPost, "/api/v1/users",
			`{"name":"","email":"not-an-email","extension":"12"}`, 400, []string{"name", "email", "extension"}},
		{"unknown field refused", pOwner, http.MethodPost, "/api/v1/users", `{"name":"Zed","nmae":"x"}`, 400, []string{"nmae"}},
		{"wrong type named", pOwner, http.MethodPatch, "/api/v1/users/{agent}", `{"name":5}`, 400, []string{"name"}},
		{"not JSON", pOwner, http.MethodPost, "/api/v1/groups", `name=Billing`, 400, []string{"body"}},
		{"two objects", pOwner, http.MethodPost, "/api/v1/groups", `{"name":"A"}{"name":"B"}`, 400, []string{"body"}},
		{"too large", pOwner, http.MethodPost, "/api/v1/contacts",
			`{"name":"` + strings.Repeat("x", maxJSONSize) + `"}`, 400, []string{"body"}},
		{"unknown permission in a role", pOwner, http.MethodPost, "/api/v1/roles",
			`{"name":"Odd","permissions":{"calls.everything":"any"}}`, 400, nil},
		{"unknown role id", pOwner, http.MethodPatch, "/api/v1/users/{agent}", `{"role_ids":[987654]}`, 400, []string{"roles"}},
		{"conflict: extension taken", pOwner, http.MethodPost, "/api/v1/users",
			`{"name":"Zed","email":"zed@example.com","extension":"20004"}`, 409, nil},
		{"conflict: email taken", pOwner, http.MethodPatch, "/api/v1/users/{agent}", `{"email":"lead@example.com"}`, 409, nil},
		{"conflict: the default group cannot be deleted", pOwner, http.MethodDelete, "/api/v1/groups/{default}", ``, 409, nil},
		{"conflict: the last owner cannot be blocked", pOwner, http.MethodPost, "/api/v1/users/{owner}/block", ``, 409, nil},
		{"out of scope: a peer's user is not found", pLead, http.MethodPatch, "/api/v1/users/{peer}", `{"name":"X"}`, 404, nil},
		{"out of scope: another agent is not found", pPeer, http.MethodPatch, "/api/v1/users/{agent}", `{"name":"X"}`, 404, nil},
		{"out of scope: another's contact is not found", pPeer, http.MethodDelete, "/api/v1/contacts/{salesContact}", ``, 404, nil},
		{"out of scope: a guessed user id", pLead, http.MethodPatch, "/api/v1/users/987654", `{}`, 404, nil},
		{"out of scope: a guessed role id", pOwner, http.MethodPatch, "/api/v1/roles/987654", `{}`, 404, nil},
		{"the Owner role cannot be edited", pOwner, http.MethodPatch, "/api/v1/roles/{ownerRole}",
			`{"permissions":{}}`, 403, nil},
	}
	repl := strings.NewReplacer("{agent}", itoa(f.users[pAgent].ID), "{peer}", itoa(f.users[pPeer].ID),
		"{owner}", itoa(f.users[pOwner].ID), "{adminRole}", itoa(f.roles[directory.BuiltinAdmin].ID),
		"{ownerRole}", itoa(f.roles[directory.BuiltinOwner].ID), "{support}", itoa(f.groups["support"].ID),
		"{default}", itoa(f.groups["default"].ID), "{salesContact}", itoa(f.cons["sales"].ID))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, ts := f.open(t)
			resp, out := f.api(t, ts.URL, tc.persona).json(tc.method, repl.Replace(tc.path), repl.Replace(tc.body))
			if resp.StatusCode != tc.want {
				t.Fatalf("%d, want %d\n%.400s", resp.StatusCode, tc.want, out)
			}
			if tc.want < 400 {
				return
			}
			var e struct{ Error apiError }
			if err := json.Unmarshal([]byte(out), &e); err != nil || e.Error.Code == "" {
				t.Fatalf("not a JSON error (%v): %.300s", err, out)
			}
			for _, fld := range tc.fields {
				if e.Error.Fields[fld] == "" {
					t.Errorf("field %q not named: %v", fld, e.Error.Fields)
				}
			}
		})
	}
}

func TestAPIReferenceListsChanges(t *testing.T) {
	f := newFixture(t)
	s, _, ts := f.open(t)
	_, body := newClient(t, ts.URL).get("/api/v1/")
	for _, rt := range s.Routes() {
		if !rt.API || rt.Method == http.MethodGet || rt.Method == http.MethodHead {
			continue
		}
		line := regexp.MustCompile(`(?m)^` + rt.Method + ` +` + regexp.QuoteMeta(rt.Pattern) + `( |$)`)
		if !line.MatchString(body) {
			t.Errorf("the reference does not list %s %s", rt.Method, rt.Pattern)
		}
	}
}
