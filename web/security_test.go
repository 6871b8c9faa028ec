package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// A route without a permission rule makes the router refuse to build, at
// start, whether it went through the wrapper with a zero Rule or straight
// onto the chi router.
func TestRouterRefusesRoutesWithoutRule(t *testing.T) {
	f := newFixture(t)
	s, _, _ := f.open(t)
	ok := func(w http.ResponseWriter, r *http.Request) {}
	for _, tc := range []struct {
		name string
		reg  func(web, api *router)
		want string
	}{
		{"zero rule", func(web, api *router) { web.get("/oops", Rule{}, ok) }, "GET /oops has no permission rule"},
		{"need without a permission", func(web, api *router) { api.get("/oops", Rule{kind: ruleNeed}, ok) }, "names no permission"},
		{"straight onto chi", func(web, api *router) { web.mux.Get("/sneaky", ok) }, "GET /sneaky was registered without a permission rule"},
		{"api straight onto chi", func(web, api *router) { api.mux.Post("/sneaky", ok) }, "POST /api/v1/sneaky was registered without"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.build(func(web, api *router) {
				s.register(web, api)
				tc.reg(web, api)
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("build: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if _, err := s.build(s.register); err != nil {
		t.Fatalf("the real routes: %v", err)
	}
	var _ chi.Router // the wrapper holds the chi router; handlers never see it
}

func TestLoginRotatesSessionAndRefusesFixation(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := newClient(t, ts.URL)
	// An attacker plants a session ID of their choosing in the victim's browser.
	u, _ := url.Parse(ts.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "sb_session", Value: "planted-by-attacker", Path: "/"}})
	if resp := c.login("agent@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if c.sid == "" || c.sid == "planted-by-attacker" {
		t.Fatalf("session after login: %q, want a new random one", c.sid)
	}
	if _, err := st.Session(t.Context(), sha256Hex("planted-by-attacker")); err == nil {
		t.Error("the planted ID became a session")
	}
	resp, _ := c.get("/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard after login: %d", resp.StatusCode)
	}
	// A second login replaces the session again; the old one is gone.
	old := c.sid
	c.login("agent@example.com", testPassword)
	if c.sid == old {
		t.Error("second login kept the session ID")
	}
	if _, err := st.Session(t.Context(), sha256Hex(old)); err == nil {
		t.Error("the previous session survived a new login")
	}
	// Cookie attributes: HttpOnly, SameSite=Lax; Secure when behind https.
	resp, _ = newClient(t, ts.URL).do(http.MethodPost, "/login", url.Values{"email": {"agent@example.com"}, "password": {testPassword}}, nil)
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode || ck[0].Secure {
		t.Errorf("cookie over http: %+v", ck)
	}
	// Logout ends the session in the store.
	sid := c.sid
	if resp, _ := c.post("/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if _, err := st.Session(t.Context(), sha256Hex(sid)); err == nil {
		t.Error("session still stored after logout")
	}
}

func TestSecureCookieBehindHTTPS(t *testing.T) {
	f := newFixture(t)
	_, st, _ := f.open(t)
	s, err := New(Config{BaseURL: "https://pbx.example.com"}, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"email": {"agent@example.com"},
		"password": {testPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "192.0.2.1:1234"
	w := &recorder{h: http.Header{}}
	s.ServeHTTP(w, req)
	ck := (&http.Response{Header: w.h}).Cookies()
	if w.code != http.StatusSeeOther || len(ck) != 1 || !ck[0].Secure || ck[0].Name != "__Host-sb_session" {
		t.Fatalf("login behind https: %d %+v", w.code, ck)
	}
}

type recorder struct {
	h    http.Header
	code int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.as(t, ts.URL, pOwner)
	target := "/users/" + itoa(f.users[pAgent].ID) + "/block"
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  http.Header
	}{
		{"no form token", url.Values{"csrf": {""}}, nil},
		{"another session's token", url.Values{"csrf": {csrfToken(f.sids[pAdmin])}}, nil},
		{"a made-up token", url.Values{"csrf": {"x"}}, nil},
		{"a cross-site form", url.Values{"csrf": {csrfToken(c.sid)}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"a foreign origin", url.Values{"csrf": {csrfToken(c.sid)}}, http.Header{"Origin": {"https://evil.example"}}},
	} {
		form := tc.form
		if form.Get("csrf") == "" {
			form.Set("csrf", "")
		}
		resp, _ := c.do(http.MethodPost, target, form, tc.hdr)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if u, _ := st.User(t.Context(), f.users[pAgent].ID); u.State != directory.UserActive {
		t.Fatalf("a refused request changed the user: %s", u.State)
	}
	if resp, _ := c.post(target, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the session's token: %d", resp.StatusCode)
	}
	if u, _ := st.User(t.Context(), f.users[pAgent].ID); u.State != directory.UserBlocked {
		t.Fatalf("state after block: %s", u.State)
	}
}

func TestLoginThrottleAndRefusals(t *testing.T) {
	f := newFixture(t)
	s, st, ts := f.open(t)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.throttle = newThrottle(func() time.Time { return now })
	c := newClient(t, ts.URL)
	// Wrong password, unknown email, blocked and deleted users: the same answer.
	if err := st.SetUserState(t.Context(), f.users[pPeer].ID, directory.UserBlocked); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserState(t.Context(), f.users[pOver].ID, directory.UserDeleted); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, creds := range [][2]string{{"agent@example.com", "Wrong-pass-1!"}, {"nobody@example.com", testPassword},
		{"peer@example.com", testPassword}, {"over@example.com", testPassword}} {
		resp, body := c.do(http.MethodPost, "/login", url.Values{"email": {creds[0]}, "password": {creds[1]}}, nil)
		if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Errorf("login %s: %d %v", creds[0], resp.StatusCode, resp.Cookies())
		}
		bodies = append(bodies, strings.ReplaceAll(body, creds[0], ""))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Error("refusals differ, which tells accounts apart")
		}
	}
	// Brute force on one email: after 5 failures even the right password waits.
	for i := 0; i < 4; i++ {
		c.do(http.MethodPost, "/login", url.Values{"email": {"agent@example.com"}, "password": {"Wrong-pass-1!"}}, nil)
	}
	if resp := c.login("agent@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("6th attempt: %d, want 429", resp.StatusCode)
	}
	now = now.Add(16 * time.Minute)
	if resp := c.login("agent@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
	// Spraying many emails from one source is throttled per source.
	c = newClient(t, ts.URL)
	for i := 0; i < 20; i++ {
		c.do(http.MethodPost, "/login", url.Values{"email": {"spray" + itoa(int64(i)) + "@example.com"}, "password": {"x"}}, nil)
	}
	if resp := c.login("admin@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after spraying: %d, want 429", resp.StatusCode)
	}
}

func TestThrottleMemoryIsBounded(t *testing.T) {
	now := time.Unix(0, 0)
	th := newThrottle(func() time.Time { return now })
	th.maxEntries = 100
	for i := 0; i < 10_000; i++ {
		th.failed("u"+itoa(int64(i))+"@example.com", "ip:192.0.2."+itoa(int64(i%250)))
	}
	if n := th.size(); n > 100 {
		t.Fatalf("throttle holds %d entries, bound 100", n)
	}
}

// IDOR: objects outside the viewer's scope are absent from lists and 404
// by ID, guessed IDs included; a blocked user's session and token stop.
func TestOutOfScopeIsInvisible(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	agent := f.api(t, ts.URL, pAgent)
	lead := f.api(t, ts.URL, pLead)
	ids := func(c *client, path string) []int64 {
		resp, body := c.get(path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var l struct{ Data []struct{ ID int64 } }
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, d := range l.Data {
			out = append(out, d.ID)
		}
		return out
	}
	same := func(got []int64, want ...int64) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if got := ids(agent, "/api/v1/calls"); !same(got, f.calls["sales"].ID) {
		t.Errorf("agent's calls: %v", got)
	}
	if got := ids(lead, "/api/v1/users"); len(got) != 2 {
		t.Errorf("lead's department users: %v, want lead and agent", got)
	}
	if got := ids(f.api(t, ts.URL, pPeer), "/api/v1/recordings"); !same(got, f.recs["support"].ID) {
		t.Errorf("peer's recordings: %v", got)
	}
	for _, path := range []string{"/api/v1/calls/" + itoa(f.calls["support"].ID), "/api/v1/calls/999999",
		"/api/v1/users/" + itoa(f.users[pAdmin].ID), "/api/v1/users/999999", "/api/v1/contacts/" + itoa(f.cons["support"].ID),
		"/api/v1/recordings/" + itoa(f.recs["support"].ID), "/api/v1/recordings/" + itoa(f.recs["support"].ID) + "/audio",
		"/api/v1/recordings/999999/audio", "/api/v1/users/abc", "/api/v1/users/-1"} {
		resp, body := agent.get(path)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"code": "not_found"`) {
			t.Errorf("agent GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	// Listen without download: the download is refused.
	resp, _ := f.as(t, ts.URL, pLead).get("/recordings/" + itoa(f.recs["sales"].ID) + "/download")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("lead downloads: %d, want 403", resp.StatusCode)
	}
	// Blocking ends sessions and tokens at once.
	if err := st.SetUserState(t.Context(), f.users[pAgent].ID, directory.UserBlocked); err != nil {
		t.Fatal(err)
	}
	if resp, _ := agent.get("/api/v1/me"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("blocked user's token: %d", resp.StatusCode)
	}
	if resp, _ := f.as(t, ts.URL, pAgent).get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("blocked user's session: %d", resp.StatusCode)
	}
}

func TestRecordingRangeAndAudit(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.api(t, ts.URL, pAgent)
	path := "/api/v1/recordings/" + itoa(f.recs["sales"].ID) + "/audio"
	resp, body := c.get(path)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" || !strings.HasPrefix(body, "RIFF") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("audio: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = c.do(http.MethodGet, path, nil, http.Header{"Range": {"bytes=100-199"}})
	if resp.StatusCode != http.StatusPartialContent || len(body) != 100 {
		t.Fatalf("range: %d, %d bytes", resp.StatusCode, len(body))
	}
	dl := f.api(t, ts.URL, pAdmin)
	resp, _ = dl.get("/api/v1/recordings/" + itoa(f.recs["sales"].ID) + "/download")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "recording."})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Action != "recording.download" || es[0].ActorID != f.users[pAdmin].ID ||
		es[1].Action != "recording.listen" || es[1].ActorID != f.users[pAgent].ID {
		t.Fatalf("audit of listens and downloads (the range request is not one): %+v", es)
	}
}

func TestAPIErrorsAreJSON(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	for _, tc := range []struct {
		c    *client
		path string
		code int
		want string
	}{
		{newClient(t, ts.URL), "/api/v1/users", 401, "unauthorized"},
		{&client{t: t, base: ts.URL, hc: http.DefaultClient, tok: "sbt_not-a-token"}, "/api/v1/users", 401, "unauthorized"},
		{f.api(t, ts.URL, pAgent), "/api/v1/roles", 403, "forbidden"},
		{f.api(t, ts.URL, pAgent), "/api/v1/nothing", 404, "not_found"},
		{f.api(t, ts.URL, pOwner), "/api/v1/calls?from=yesterday", 400, "invalid"},
	} {
		resp, body := tc.c.get(tc.path)
		var e struct{ Error apiError }
		if resp.StatusCode != tc.code || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != tc.want {
			t.Errorf("GET %s: %d %s, want %d %s", tc.path, resp.StatusCode, body, tc.code, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{&directory.InvalidError{Field: "email", Rule: "is required"}, 400},
		{&authz.DeniedError{Reason: "no"}, 403},
		{&authz.DeniedError{Reason: "no", OutOfScope: true}, 404},
		{directory.ErrNotFound, 404},
		{directory.ErrEmailTaken, 409},
		{directory.ErrUnavailable, 503},
		{http.ErrHandlerTimeout, 500},
	} {
		if got, _ := classify(tc.err); got != tc.code {
			t.Errorf("%v: %d, want %d", tc.err, got, tc.code)
		}
	}
}
