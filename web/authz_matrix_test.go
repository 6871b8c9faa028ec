package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/authz"
)

// scopesOf is what each persona may do, written out from the seeded roles
// (Owner, Admin, Agent), the test's Team lead role and the overrides; the
// matrix compares the server's answers with this table, not with authz.
func scopesOf(p string) map[string]string {
	highest := map[string]string{}
	for _, info := range authz.Catalog() {
		highest[string(info.Permission)] = info.Highest().String()
	}
	admin := map[string]string{"calls.history": "any", "recordings.listen": "any", "recordings.download": "any",
		"calls.outbound": "any", "calls.monitor": "any", "calls.control": "any", "presence.observe": "any", "presence.share": "any", "calls.share": "any", "calls.intercom": "any", "calls.park": "any", "ivr.control": "any", "users.view": "any", "users.manage": "any",
		"queues.view": "any", "queues.manage": "any", "groups.manage": "any", "numbers.manage": "any", "settings.telephony": "any", "audit.view": "any",
		"contacts.view": "any", "contacts.manage": "any", "contacts.delete": "any"}
	agent := map[string]string{"calls.history": "own", "recordings.listen": "own", "calls.outbound": "crm_and_employees",
		"presence.observe": "department", "presence.share": "department", "calls.share": "department", "calls.park": "any",
		"users.view": "own", "users.manage": "own", "contacts.view": "own", "contacts.manage": "own", "contacts.delete": "own"}
	switch p {
	case pOwner:
		return highest
	case pAdmin:
		return admin
	case pLead:
		return teamLeadPerms
	case pAgent, pPeer:
		return agent
	case pOver:
		m := map[string]string{}
		for k, v := range agent {
			m[k] = v
		}
		for k, v := range overOverrides {
			m[k] = v
		}
		return m
	}
	return nil
}

// departments of the fixture: members of each persona's groups, subgroups
// included (Sales holds Sales North).
var departments = map[string][]string{
	pOwner: {pOwner}, pAdmin: {pAdmin, pPeer, pOver}, pLead: {pLead, pAgent}, pAgent: {pAgent},
	pPeer: {pAdmin, pPeer, pOver}, pOver: {pAdmin, pPeer, pOver},
}

// target is the object a route's {id} is replaced with, and who takes part
// in it: the routes are tried on the Sales objects.
type target struct {
	id           int64
	kind         string
	participants []string // users, calls, recordings
	assigned     string   // contacts
	creator      string
	member       *target           // group member routes: the {user_id}
	perms        map[string]string // a user target's permissions when not its persona's
}

func (f *fixture) targetOf(pattern string) *target {
	switch {
	case strings.Contains(pattern, "/users/{id}"):
		return &target{id: f.users[pAgent].ID, kind: "user", participants: []string{pAgent}}
	case strings.Contains(pattern, "/contacts/{id}"):
		return &target{id: f.cons["sales"].ID, kind: "contact", assigned: pAgent, creator: pLead}
	case strings.Contains(pattern, "/calls/{id}"):
		return &target{id: f.calls["sales"].ID, kind: "call", participants: []string{pAgent, pLead}}
	case strings.Contains(pattern, "/voicemail/{id}"): // a message in the agent's mailbox
		return &target{id: f.vm.ID, kind: "recording", participants: []string{pAgent}}
	case strings.Contains(pattern, "/recordings/{id}"):
		return &target{id: f.recs["sales"].ID, kind: "recording", participants: []string{pAgent, pLead}}
	case strings.Contains(pattern, "/groups/{id}"):
		return &target{id: f.groups["empty"].ID, kind: "group", member: f.targetOf("/users/{id}")}
	case strings.Contains(pattern, "/roles/{id}"):
		return &target{id: f.roles["lead"].ID, kind: "role"}
	case strings.Contains(pattern, "/hours/{id}"), strings.Contains(pattern, "/schedules/{id}"):
		return &target{id: 1, kind: "schedule"} // seedHours's
	case strings.Contains(pattern, "/queues/{id}"):
		return &target{id: 1, kind: "queue"} // fixtureQueue's: company-wide, only any reaches it
	case strings.Contains(pattern, "/ivr/{id}"), strings.Contains(pattern, "/ivr-menus/{id}"):
		return &target{id: 1, kind: "menu"} // fixtureIVR's
	case strings.Contains(pattern, "/trunks/{name}"), strings.Contains(pattern, "/dids/{number}"),
		strings.Contains(pattern, "/did-hours/{number}"),
		strings.Contains(pattern, "/bans/{ip}"):
		return &target{kind: "telephony"} // seedTelephony's trunk, number and ban
	case strings.Contains(pattern, "/devices/{id}"): // as the routes of its user, the agent
		return &target{id: f.device.ID, kind: "user", participants: []string{pAgent}}
	case strings.Contains(pattern, "/tokens/{id}"):
		return &target{id: f.tokenID[pOwner], kind: "token", participants: []string{pOwner}}
	}
	return nil
}

// covers says whether persona p's scope for perm reaches the target.
func covers(p, perm string, t *target) bool {
	scope := scopesOf(p)[perm]
	in := func(who []string) bool {
		for _, w := range who {
			if scope == "own" && w == p || scope == "department" && slices.Contains(departments[p], w) {
				return true
			}
		}
		return false
	}
	switch scope {
	case "", "none":
		return false
	case "any":
		return true
	}
	if t.kind == "contact" {
		return in([]string{t.assigned, t.creator})
	}
	return in(t.participants)
}

func viewPerms(kind string) []string {
	switch kind {
	case "user":
		return []string{"users.view"}
	case "contact":
		return []string{"contacts.view"}
	case "call":
		return []string{"calls.history"}
	case "recording":
		return []string{"recordings.listen", "recordings.download"}
	}
	return nil
}

// expect returns 0 when persona p may use the route on its target (any
// status but 401, 403 and 404 will do: a 400 for an empty form is the
// handler's answer after authz), else the refusal: 403, or 404 for an
// object the persona may not see.
func (f *fixture) expect(p string, rt Route, t *target) int {
	holds := func(perm string) bool { s := scopesOf(p)[perm]; return s != "" && s != "none" }
	sees := func() bool {
		for _, v := range viewPerms(t.kind) {
			if covers(p, v, t) {
				return true
			}
		}
		return viewPerms(t.kind) == nil
	}
	perms := make([]string, len(rt.Rule.perms))
	for i, x := range rt.Rule.perms {
		perms[i] = string(x)
	}
	switch rt.Rule.kind {
	case ruleSignedIn:
		if t != nil && t.kind == "token" && p != pOwner {
			return http.StatusNotFound // someone else's token: revoking it is an IDOR attempt
		}
		return 0
	case ruleNeed:
		for _, perm := range perms {
			if !holds(perm) {
				return http.StatusForbidden
			}
		}
		if t != nil && t.kind == "user" { // block, unblock, delete: also users.manage over them
			if !sees() {
				return http.StatusNotFound
			}
			if !covers(p, "users.manage", t) || outranked(p, t) {
				return http.StatusForbidden
			}
		}
		if strings.Contains(rt.Pattern, "/members/{user_id}") { // the member: as the user page's access form
			m := t.member
			if !covers(p, "users.view", m) {
				return http.StatusNotFound
			}
			if !covers(p, "users.manage", m) || slices.Contains(m.participants, p) && p != pOwner || outranked(p, m) {
				return http.StatusForbidden
			}
		}
		return 0
	case ruleNeedAny:
		if !slices.ContainsFunc(perms, holds) {
			return http.StatusForbidden
		}
		if t != nil && !sees() {
			return http.StatusNotFound
		}
		return 0
	case rulePerResource:
		if !holds(perms[0]) {
			return http.StatusForbidden
		}
		if !sees() {
			return http.StatusNotFound
		}
		if !covers(p, perms[0], t) {
			return http.StatusForbidden
		}
		if t.kind == "user" && perms[0] != "users.view" && outranked(p, t) {
			return http.StatusForbidden
		}
		if t.kind == "user" && (strings.HasSuffix(rt.Pattern, "/access") || strings.Contains(rt.Pattern, "/overrides")) {
			// No one but an owner changes their own roles or overrides.
			if slices.Contains(t.participants, p) && p != pOwner {
				return http.StatusForbidden
			}
			// The empty form takes the user out of their groups: groups.manage.
			if strings.HasSuffix(rt.Pattern, "/access") && !holds("groups.manage") {
				return http.StatusForbidden
			}
		}
		return 0
	}
	return -1
}

// scopeRank orders the scopes of both lists (none < own < department < any;
// none < crm < crm_and_employees < any) as the brief writes them.
var scopeRank = map[string]int{"": 0, "none": 0, "own": 1, "crm": 2, "department": 3, "crm_and_employees": 4, "any": 5}

// outranked says whether the user t (one person) outranks persona p: an
// owner for anyone but an owner, or anyone holding a permission above p's
// own. Nobody manages someone who outranks them. t.perms, when
// set, replaces the persona's table (a member raised by an override).
func outranked(p string, t *target) bool {
	if len(t.participants) != 1 || t.participants[0] == p {
		return false
	}
	who := t.participants[0]
	if who == pOwner {
		return p != pOwner
	}
	theirs := scopesOf(who)
	if t.perms != nil {
		theirs = t.perms
	}
	mine := scopesOf(p)
	for perm, sc := range theirs {
		if scopeRank[sc] > scopeRank[mine[perm]] {
			return true
		}
	}
	return false
}

// TestAuthorizationMatrix tries every registered route with every persona,
// through the browser session and through the API token, and with no
// credentials at all.
func TestAuthorizationMatrix(t *testing.T) {
	f := newFixture(t)
	s, st, shared := f.open(t)
	seedTelephony(t, st)
	routes := s.Routes()
	if len(routes) < 50 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		if rt.Rule.kind == rulePublic {
			continue
		}
		tg := f.targetOf(rt.Pattern)
		if strings.Contains(rt.Pattern, "{") && tg == nil {
			t.Errorf("%s %s: the matrix has no object for this route; add one to targetOf", rt.Method, rt.Pattern)
			continue
		}
		path := rt.Pattern
		if tg != nil {
			path = strings.Replace(path, "{id}", itoa(tg.id), 1)
			// Group members: the Sales agent into or out of the empty group.
			path = strings.Replace(path, "{user_id}", itoa(f.users[pAgent].ID), 1)
			path = strings.NewReplacer("{name}", seedTrunk, "{number}", seedDID, "{ip}", seedBanIP).Replace(path)
		}
		safe := rt.Method == http.MethodGet || rt.Method == http.MethodHead
		base := shared.URL
		for _, p := range personaNames {
			if !safe {
				_, st, ts := f.open(t) // a change on a copy of its own
				seedTelephony(t, st)
				base = ts.URL
			}
			want := f.expect(p, rt, tg)
			if want < 0 {
				t.Fatalf("%s %s: the matrix does not know rule %s", rt.Method, rt.Pattern, rt.Rule)
			}
			var c *client
			if rt.API {
				c = f.api(t, base, p)
			} else {
				c = f.as(t, base, p)
			}
			var resp *http.Response
			var body string
			switch {
			case safe:
				resp, body = c.do(rt.Method, path, nil, nil)
			case rt.API: // an empty object: the least a change can say
				resp, body = c.json(rt.Method, path, "{}")
			default:
				resp, body = c.post(path, nil)
			}
			got := resp.StatusCode
			switch {
			case got >= 500:
				t.Errorf("%s %s as %s: %d\n%.300s", rt.Method, path, p, got, body)
			case want == 0 && (got == 401 || got == 403 || got == 404):
				t.Errorf("%s %s as %s (%s): %d, want it allowed\n%.300s", rt.Method, path, p, rt.Rule, got, body)
			case want != 0 && got != want:
				t.Errorf("%s %s as %s (%s): %d, want %d", rt.Method, path, p, rt.Rule, got, want)
			}
		}
		// Nobody signed in: the API asks for a token, the browser for a login.
		anon := newClient(t, shared.URL)
		var resp *http.Response
		switch {
		case safe:
			resp, _ = anon.do(rt.Method, path, nil, nil)
		case rt.API:
			resp, _ = anon.json(rt.Method, path, "{}")
		default:
			resp, _ = anon.post(path, nil)
		}
		want := http.StatusSeeOther
		switch {
		case rt.API:
			want = http.StatusUnauthorized
		case !safe:
			want = http.StatusForbidden
		}
		if resp.StatusCode != want {
			t.Errorf("%s %s signed out: %d, want %d", rt.Method, path, resp.StatusCode, want)
		}
	}
}

// userChanging says whether rt changes a user: their account, credentials,
// roles, overrides, forwarding, state or groups.
func userChanging(rt Route) bool {
	if rt.Method == http.MethodGet || rt.Method == http.MethodHead {
		return false
	}
	return strings.Contains(rt.Pattern, "/users/{id}") || strings.Contains(rt.Pattern, "/members/{user_id}")
}

// TestUserRoutesActorTarget: nobody manages someone who outranks them.
// Every user-changing route is tried by the Owner, the Admin,
// the department's team lead and an Agent on each other, and by the team
// lead and the Admin on a member whose override raises them above the lead.
// Each attempt runs on a copy of its own, since an allowed one changes it.
func TestUserRoutesActorTarget(t *testing.T) {
	f := newFixture(t)
	s, _, _ := f.open(t)
	actors := []string{pOwner, pAdmin, pLead, pAgent}
	raised := map[string]string{}
	for k, v := range scopesOf(pAgent) {
		raised[k] = v
	}
	raised["calls.history"] = "any"
	n := 0
	for _, rt := range s.Routes() {
		if !userChanging(rt) {
			continue
		}
		n++
		for _, targetP := range append(slices.Clone(actors), "raised") {
			who := targetP
			if who == "raised" {
				who = pAgent
			}
			ut := &target{id: f.users[who].ID, kind: "user", participants: []string{who}}
			if targetP == "raised" {
				ut.perms = raised
			}
			tg := ut
			path := strings.Replace(rt.Pattern, "{id}", itoa(ut.id), 1)
			if strings.Contains(rt.Pattern, "/members/{user_id}") {
				tg = &target{id: f.groups["empty"].ID, kind: "group", member: ut}
				path = strings.NewReplacer("{id}", itoa(tg.id), "{user_id}", itoa(ut.id)).Replace(rt.Pattern)
			}
			for _, p := range actors {
				if p == who {
					continue // one's own account: the matrix above
				}
				_, st, ts := f.open(t)
				if targetP == "raised" {
					if err := st.SetOverrides(t.Context(), ut.id, map[string]string{"calls.history": "any"}); err != nil {
						t.Fatal(err)
					}
				}
				want := f.expect(p, rt, tg)
				var resp *http.Response
				var body string
				if rt.API {
					resp, body = f.api(t, ts.URL, p).json(rt.Method, path, "{}")
				} else {
					resp, body = f.as(t, ts.URL, p).post(path, nil)
				}
				got := resp.StatusCode
				switch {
				case got >= 500:
					t.Errorf("%s %s, %s on %s: %d\n%.300s", rt.Method, path, p, targetP, got, body)
				case want == 0 && (got == 401 || got == 403 || got == 404):
					t.Errorf("%s %s, %s on %s: %d, want it allowed\n%.300s", rt.Method, path, p, targetP, got, body)
				case want != 0 && got != want:
					t.Errorf("%s %s, %s on %s: %d, want %d", rt.Method, path, p, targetP, got, want)
				}
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d user-changing routes", n)
	}
}
