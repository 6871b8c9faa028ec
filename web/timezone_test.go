package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests use, also where /usr/share/zoneinfo is missing

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// addCall stores an answered call from the agent to the team lead that
// started at at and lasted a minute.
func (f *fixture) addCall(t *testing.T, st directory.Store, at time.Time) *directory.Call {
	t.Helper()
	a, b := f.users[pAgent], f.users[pLead]
	c := &directory.Call{SIPCallID: "tz-" + at.Format(time.RFC3339), CallerID: a.ID, CalleeID: b.ID, From: a.Extension,
		To: b.Extension, Dialed: b.Extension, Direction: directory.Internal, StartedAt: at,
		AnsweredAt: at.Add(5 * time.Second), EndedAt: at.Add(65 * time.Second), Disposition: directory.Answered,
		HangupBy: "caller", Node: "test"}
	if err := st.CreateCall(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func setZone(t *testing.T, st directory.Store, u *directory.User, zone string) {
	t.Helper()
	if _, err := st.UpdateUser(t.Context(), u.ID, directory.UserPatch{TimeZone: &zone}); err != nil {
		t.Fatal(err)
	}
}

// A call at 10:00 UTC in January is 11:00 for a user in Warsaw (CET) and
// one in July 12:00 (CEST); others see the company's zone, UTC until an
// admin sets web.timezone; the JSON API stays in UTC.
func TestTimeZonePages(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	winter := f.addCall(t, st, time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC))
	f.addCall(t, st, time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC))
	setZone(t, st, f.users[pAgent], "Europe/Warsaw")
	agent, lead := f.as(t, ts.URL, pAgent), f.as(t, ts.URL, pLead)

	shows := func(c *client, who, query, want, not string) {
		t.Helper()
		resp, page := c.get("/calls?" + query)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, want) || strings.Contains(page, not) {
			t.Errorf("%s: /calls?%s: %d, want %q and not %q\n%.3000s", who, query, resp.StatusCode, want, not, page)
		}
	}
	shows(agent, "Warsaw user, winter", "from=2025-01-15&to=2025-01-15", "Jan 15, 2025 11:00", "Jan 15, 2025 10:00")
	shows(agent, "Warsaw user, summer", "from=2025-07-01&to=2025-07-01", "Jul 1, 2025 12:00", "Jul 1, 2025 10:00")
	shows(lead, "company default UTC", "from=2025-01-15&to=2025-01-15", "Jan 15, 2025 10:00", "Jan 15, 2025 11:00")
	if _, page := agent.get("/account"); !strings.Contains(page, `value="Europe/Warsaw"`) || !strings.Contains(page, "Times are shown in Europe/Warsaw") {
		t.Errorf("account page does not show the user's zone\n%.3000s", page)
	}

	// The company zone, set on the settings page (settings.telephony).
	owner := f.as(t, ts.URL, pOwner)
	if resp, page := owner.post("/settings", url.Values{"web.timezone": {"Mars/Olympus_Mons"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(page, "must be a time zone name") {
		t.Errorf("unknown company zone: %d\n%.3000s", resp.StatusCode, page)
	}
	if resp, _ := f.as(t, ts.URL, pAgent).post("/settings", url.Values{"web.timezone": {"Asia/Ho_Chi_Minh"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent sets the company zone: %d", resp.StatusCode)
	}
	if resp, _ := owner.post("/settings", url.Values{"web.timezone": {"Asia/Ho_Chi_Minh"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set company zone: %d", resp.StatusCode)
	}
	if v, _ := st.Setting(t.Context(), directory.SettingTimeZone); v != "Asia/Ho_Chi_Minh" {
		t.Fatalf("web.timezone = %q", v)
	}
	if !audited(t, st, "settings.set", "setting:web.timezone") {
		t.Error("company zone change not audited")
	}
	shows(lead, "company zone Asia/Ho_Chi_Minh", "from=2025-01-15&to=2025-01-15", "Jan 15, 2025 17:00", "Jan 15, 2025 10:00")
	shows(agent, "own zone wins over the company's", "from=2025-01-15&to=2025-01-15", "Jan 15, 2025 11:00", "Jan 15, 2025 17:00")

	// The JSON API keeps UTC, and says which zone the viewer has.
	api := f.api(t, ts.URL, pAgent)
	if out := api.call(t, http.MethodGet, "/api/v1/calls/"+itoa(winter.ID), "", http.StatusOK); out["started_at"] != "2025-01-15T10:00:00Z" {
		t.Errorf("API started_at = %v, want UTC", out["started_at"])
	}
	if out := api.call(t, http.MethodGet, "/api/v1/me", "", http.StatusOK); out["time_zone"] != "Europe/Warsaw" {
		t.Errorf("API me time_zone = %v", out["time_zone"])
	}
	if out := f.api(t, ts.URL, pLead).call(t, http.MethodGet, "/api/v1/me", "", http.StatusOK); out["time_zone"] != "Asia/Ho_Chi_Minh" {
		t.Errorf("API me time_zone of a user without one = %v, want the company's", out["time_zone"])
	}
}

// The account page sets and clears the viewer's own zone; an unknown name
// is refused with the field's message; the API's PATCH does the same.
func TestAccountTimeZone(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.as(t, ts.URL, pPeer)
	zone := func() string {
		u, err := st.User(t.Context(), f.users[pPeer].ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.TimeZone
	}
	if resp, _ := c.post("/account/timezone", url.Values{"time_zone": {" Asia/Ho_Chi_Minh "}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set own zone: %d", resp.StatusCode)
	}
	if z := zone(); z != "Asia/Ho_Chi_Minh" {
		t.Errorf("stored zone %q", z)
	}
	resp, page := c.post("/account/timezone", url.Values{"time_zone": {"Europe/Atlantis"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "must be a time zone name") {
		t.Errorf("unknown zone: %d\n%.3000s", resp.StatusCode, page)
	}
	if z := zone(); z != "Asia/Ho_Chi_Minh" {
		t.Errorf("a refused zone changed it to %q", z)
	}
	if resp, _ := c.post("/account/timezone", url.Values{"time_zone": {""}}); resp.StatusCode != http.StatusSeeOther || zone() != "" {
		t.Errorf("clear own zone: %d, stored %q", resp.StatusCode, zone())
	}
	// Without the form token the change is refused.
	if resp, _ := c.do(http.MethodPost, "/account/timezone", url.Values{"time_zone": {"UTC"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no form token: %d", resp.StatusCode)
	}

	owner := f.api(t, ts.URL, pOwner)
	path := "/api/v1/users/" + itoa(f.users[pPeer].ID)
	out := owner.call(t, http.MethodPatch, path, `{"time_zone":"Nowhere/City"}`, http.StatusBadRequest)
	if e, _ := out["error"].(map[string]any); !strings.HasPrefix(e["message"].(string), "time_zone: ") {
		t.Errorf("API invalid zone: %v", out)
	}
	if out := owner.call(t, http.MethodPatch, path, `{"time_zone":"Europe/Warsaw"}`, http.StatusOK); out["time_zone"] != "Europe/Warsaw" {
		t.Errorf("API PATCH time_zone answered %v", out)
	}
	if !audited(t, st, "user.update", "user:"+itoa(f.users[pPeer].ID)) {
		t.Error("zone change by the API not audited")
	}
}

// The CSV export writes times in the viewer's zone, with the offset.
func TestCallCSVTimeZone(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	winter := f.addCall(t, st, time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC))
	summer := f.addCall(t, st, time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC))
	setZone(t, st, f.users[pAgent], "Europe/Warsaw")
	rows := func(c *client, query string) map[string][]string {
		t.Helper()
		resp, body := c.get("/calls.csv?" + query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("csv: %d\n%s", resp.StatusCode, body)
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(recs) == 0 || recs[0][1] != "started_at" {
			t.Fatalf("csv: %v\n%s", err, body)
		}
		out := map[string][]string{}
		for _, r := range recs[1:] {
			out[r[0]] = r
		}
		return out
	}
	got := rows(f.as(t, ts.URL, pAgent), "from=2025-01-01&to=2025-12-31")
	if r := got[itoa(winter.ID)]; r == nil || r[1] != "2025-01-15T11:00:00+01:00" || r[2] != "2025-01-15T11:00:05+01:00" ||
		r[3] != "2025-01-15T11:01:05+01:00" {
		t.Errorf("Warsaw user, winter call row %q", r)
	}
	if r := got[itoa(summer.ID)]; r == nil || r[1] != "2025-07-01T12:00:00+02:00" {
		t.Errorf("Warsaw user, summer call row %q", r)
	}
	if r := rows(f.as(t, ts.URL, pLead), "from=2025-01-01&to=2025-12-31")[itoa(winter.ID)]; r == nil || r[1] != "2025-01-15T10:00:00Z" {
		t.Errorf("UTC user, winter call row %q", r)
	}
}

// Date filters are days in the viewer's zone: a Warsaw day starts an hour
// (winter) or two (summer) before the UTC day, and the day the clocks go
// forward has 23 hours.
func TestCallDateFilterTimeZone(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	at := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return f.addCall(t, st, tm).ID
	}
	a := at("2025-01-14T22:59:59Z") // Warsaw 14 Jan 23:59:59
	b := at("2025-01-14T23:00:00Z") // Warsaw 15 Jan 00:00
	c := at("2025-01-15T22:59:59Z") // Warsaw 15 Jan 23:59:59
	d := at("2025-01-15T23:00:00Z") // Warsaw 16 Jan 00:00
	e := at("2025-03-29T22:59:59Z") // Warsaw 29 Mar 23:59:59 (CET)
	g := at("2025-03-29T23:00:00Z") // Warsaw 30 Mar 00:00 (CET); clocks go forward at 01:00Z
	h := at("2025-03-30T21:59:59Z") // Warsaw 30 Mar 23:59:59 (CEST)
	k := at("2025-03-30T22:00:00Z") // Warsaw 31 Mar 00:00 (CEST)
	setZone(t, st, f.users[pAgent], "Europe/Warsaw")

	ids := func(c *client, query string) []int64 {
		t.Helper()
		resp, body := c.get("/api/v1/calls?" + query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("calls?%s: %d\n%s", query, resp.StatusCode, body)
		}
		var l struct{ Data []struct{ ID int64 } }
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, x := range l.Data {
			out = append(out, x.ID)
		}
		slices.Sort(out)
		return out
	}
	csvIDs := func(c *client, query string) []int64 {
		t.Helper()
		_, body := c.get("/calls.csv?" + query)
		recs, _ := csv.NewReader(strings.NewReader(body)).ReadAll()
		var out []int64
		for _, r := range recs[1:] {
			for _, id := range idList([]string{r[0]}) {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	warsawAPI, warsaw := f.api(t, ts.URL, pAgent), f.as(t, ts.URL, pAgent)
	utcAPI := f.api(t, ts.URL, pLead)
	for _, tc := range []struct {
		name   string
		c      *client
		query  string
		want   []int64
		useCSV bool
	}{
		{"Warsaw: 15 Jan is 23:00Z to 23:00Z", warsawAPI, "from=2025-01-15&to=2025-01-15", []int64{b, c}, false},
		{"Warsaw: the CSV filters alike", warsaw, "from=2025-01-15&to=2025-01-15", []int64{b, c}, true},
		{"UTC: 15 Jan is midnight to midnight", utcAPI, "from=2025-01-15&to=2025-01-15", []int64{c, d}, false},
		{"Warsaw: 30 Mar has 23 hours", warsawAPI, "from=2025-03-30&to=2025-03-30", []int64{g, h}, false},
		{"Warsaw: to 29 Mar ends before 30 Mar begins", warsawAPI, "from=2025-03-29&to=2025-03-29", []int64{e}, false},
		{"Warsaw: from alone", warsawAPI, "from=2025-03-31", []int64{k}, false},
		{"Warsaw: to alone", warsawAPI, "to=2025-01-14", []int64{a}, false},
		{"an RFC 3339 time is taken as written", warsawAPI, "from=2025-01-15T00:00:00Z&to=2025-01-16T00:00:00Z", []int64{c, d}, false},
	} {
		var got []int64
		if tc.useCSV {
			got = csvIDs(tc.c, tc.query)
		} else {
			got = ids(tc.c, tc.query)
		}
		// The fixture's own calls (14 Mar 2025) fall outside every range but "from alone".
		got = slices.DeleteFunc(got, func(id int64) bool { return id == f.calls["sales"].ID })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %s: got %v, want %v", tc.name, tc.query, got, tc.want)
		}
	}
	// The page shows the same filter's rows: one call on 15 Jan for the Warsaw user.
	if _, page := warsaw.get("/calls?from=2025-01-15&to=2025-01-15"); strings.Count(page, "<tr><td>Jan 1") != 2 {
		t.Errorf("Warsaw calls page for 15 Jan: want 2 rows\n%.3000s", page)
	}
}

// The "why" of each permission on the user page is in the page's language.
func TestWhyTranslated(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	owner := f.as(t, ts.URL, pOwner)
	agentRole := f.roles[directory.BuiltinAgent].Name
	for _, tc := range []struct {
		lang, persona string
		want          []string
	}{
		{"en", pAgent, []string{"own, from role " + agentRole}},
		{"pl", pAgent, []string{"własne, z roli " + agentRole, "brak, żadna rola tego nie nadaje"}},
		{"vi", pAgent, []string{"cá nhân, từ vai trò " + agentRole, "không, không vai trò nào cấp quyền này"}},
		{"pl", pOver, []string{"wszystkie, ustawione dla tego użytkownika"}},
		{"vi", pOver, []string{"tất cả, được đặt riêng cho người dùng này"}},
		{"pl", pOwner, []string{"wszystkie, jako właściciel"}},
		{"vi", pOwner, []string{"tất cả, vì là chủ sở hữu"}},
	} {
		_, page := owner.do(http.MethodGet, "/users/"+itoa(f.users[tc.persona].ID), nil, http.Header{"Accept-Language": {tc.lang}})
		for _, w := range tc.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s, user %s: page lacks %q", tc.lang, tc.persona, w)
			}
		}
		if tc.lang != "en" && (strings.Contains(page, ", from role") || strings.Contains(page, ", as owner") ||
			strings.Contains(page, ", set for this user")) {
			t.Errorf("%s, user %s: an English why on the page", tc.lang, tc.persona)
		}
	}
}

// Every source of a decision has its phrase in every language, and the
// English one reads as authz.Decision.String.
func TestWhyEverySource(t *testing.T) {
	cat, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []authz.Decision{
		{Scope: authz.ScopeAny, Source: authz.SourceOwner},
		{Scope: authz.ScopeNone, Source: authz.SourceOverride},
		{Scope: authz.ScopeDepartment, Source: authz.SourceRole, RoleName: "Team lead"},
		{Scope: authz.ScopeNone, Source: authz.SourceDeleted},
		{Scope: authz.ScopeNone, Source: authz.SourceNone},
	} {
		for _, lang := range languages {
			p := &page{Lang: lang, cat: cat}
			got := p.Why(d)
			if strings.Contains(got, "why.") || strings.Contains(got, "%!") {
				t.Errorf("%s: why of %v = %q", lang, d, got)
			}
			if lang == "en" && got != d.String() {
				t.Errorf("en: why %q, authz says %q", got, d.String())
			}
		}
	}
}
