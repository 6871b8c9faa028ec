package web

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// An admin with users.manage over a user sets that user's time zone on the
// user page, checked as on the account page; the user's pages then show
// times in it, while the admin's stay in the company's.
func TestUserPageSetsTimeZone(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	f.addCall(t, st, time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC))
	ag := f.users[pAgent]
	path := "/users/" + itoa(ag.ID)
	form := func(zone ...string) url.Values {
		v := url.Values{"name": {ag.Name}, "email": {ag.Email}, "mobile": {ag.Mobile}, "caller_id": {ag.CallerID},
			"notes": {ag.Notes}, "language": {ag.Language}}
		if len(zone) > 0 {
			v.Set("time_zone", zone[0])
		}
		return v
	}
	zoneOf := func() string {
		t.Helper()
		u, err := st.User(t.Context(), ag.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.TimeZone
	}
	admin, agent := f.as(t, ts.URL, pAdmin), f.as(t, ts.URL, pAgent)
	const calls = "/calls?from=2025-01-15&to=2025-01-15"

	if resp, page := admin.get(path); resp.StatusCode != http.StatusOK ||
		!strings.Contains(page, `name="time_zone" value=""`) || !strings.Contains(page, "Company default (UTC)") {
		t.Fatalf("user page: %d, no empty time zone input\n%.3000s", resp.StatusCode, page)
	}

	// A name the zone database does not know: the page again, the mistake
	// under the field, nothing stored.
	resp, page := admin.post(path, form("Mars/Olympus_Mons"))
	field := strings.Index(page, `id="time_zone"`)
	msg := strings.Index(page, `<div class="err">must be a time zone name`)
	if resp.StatusCode != http.StatusBadRequest || field < 0 || msg < field || strings.Contains(page[field:msg], "<label") {
		t.Errorf("unknown zone: %d (field at %d, message at %d)\n%.4000s", resp.StatusCode, field, msg, page)
	}
	if z := zoneOf(); z != "" {
		t.Fatalf("unknown zone stored: %q", z)
	}

	// A peer without users.manage over the agent may not set it.
	if resp, _ := f.as(t, ts.URL, pPeer).post(path, form("Asia/Tokyo")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("peer sets the agent's zone: %d, want 404", resp.StatusCode)
	}

	if resp, page := admin.post(path, form(" Asia/Ho_Chi_Minh ")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set zone: %d\n%.3000s", resp.StatusCode, page)
	}
	if z := zoneOf(); z != "Asia/Ho_Chi_Minh" {
		t.Fatalf("stored zone %q", z)
	}
	if !audited(t, st, "user.update", "user:"+itoa(ag.ID)) {
		t.Error("zone change not audited")
	}
	if _, page := admin.get(path); !strings.Contains(page, `name="time_zone" value="Asia/Ho_Chi_Minh"`) {
		t.Error("the user page does not show the zone set")
	}

	// 10:00 UTC is 17:00 in Ho Chi Minh City (UTC+7, no summer time).
	if resp, page := agent.get(calls); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Jan 15, 2025 17:00") ||
		strings.Contains(page, "Jan 15, 2025 10:00") {
		t.Errorf("agent's call history: %d, want 17:00\n%.3000s", resp.StatusCode, page)
	}
	if _, page := agent.get("/account"); !strings.Contains(html.UnescapeString(page), "Times are shown in Asia/Ho_Chi_Minh") {
		t.Error("agent's account page does not name the zone")
	}
	if _, page := admin.get(calls); !strings.Contains(page, "Jan 15, 2025 10:00") || strings.Contains(page, "Jan 15, 2025 17:00") {
		t.Error("the admin's own pages moved to the agent's zone")
	}

	// A form without the field (sent by a page from before) keeps the zone;
	// an empty field gives the user the company's again.
	if resp, _ := admin.post(path, form()); resp.StatusCode != http.StatusSeeOther || zoneOf() != "Asia/Ho_Chi_Minh" {
		t.Errorf("form without time_zone: %d, zone %q", resp.StatusCode, zoneOf())
	}
	if resp, _ := admin.post(path, form("")); resp.StatusCode != http.StatusSeeOther || zoneOf() != "" {
		t.Errorf("empty time_zone: %d, zone %q", resp.StatusCode, zoneOf())
	}
	if _, page := agent.get(calls); !strings.Contains(page, "Jan 15, 2025 10:00") {
		t.Error("agent's pages after the zone was cleared are not in the company's zone (UTC)")
	}
}
