package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// fixtureHours gives the fixture a schedule, ID 1 in its fresh store.
func fixtureHours(t testing.TB, st directory.Store) {
	t.Helper()
	s := &directory.Schedule{Name: "Reception", TimeZone: "Europe/Warsaw", Hours: "mon-fri 08:00-17:00"}
	if err := st.CreateSchedule(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// seedHours makes the telephony seed's inbound number follow it.
func seedHours(t *testing.T, st directory.Store) {
	t.Helper()
	if err := st.SetDIDHours(t.Context(), &directory.DIDHours{Number: seedDID, ScheduleID: 1, Outside: "20001"}); err != nil {
		t.Fatal(err)
	}
}

// TestOfficeHoursPage: the owner creates, edits and deletes office hours
// and makes an inbound number follow them; mistakes name the field and
// store nothing.
func TestOfficeHoursPage(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.as(t, ts.URL, pOwner)
	form := url.Values{"name": {"Sales hours"}, "group_id": {itoa(f.groups["sales"].ID)}, "time_zone": {"Asia/Ho_Chi_Minh"},
		"hours": {"MON-FRI 08:00-17:00\nsat 09:00-12:00"}, "holidays": {"2026-09-02, 01-01"}}
	if resp, body := c.post("/hours", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%.500s", resp.StatusCode, body)
	}
	list, err := st.Schedules(t.Context())
	if err != nil || len(list) != 2 || list[1].Name != "Sales hours" { // and the fixture's Reception
		t.Fatalf("schedules %+v, %v", list, err)
	}
	sch := list[1]
	if sch.GroupID != f.groups["sales"].ID || sch.Hours != "mon-fri 08:00-17:00; sat 09:00-12:00" ||
		sch.Holidays != "01-01, 2026-09-02" || sch.TimeZone != "Asia/Ho_Chi_Minh" {
		t.Errorf("stored schedule %+v", sch)
	}
	_, page := c.get("/hours")
	for _, want := range []string{"Sales hours", "mon-fri 08:00-17:00; sat 09:00-12:00", "Asia/Ho_Chi_Minh", "Office hours"} {
		if !strings.Contains(page, want) {
			t.Errorf("hours page lacks %q", want)
		}
	}
	bad := url.Values{"name": {"Night"}, "time_zone": {"Mars/Base"}, "hours": {"mon 8-17"}}
	resp, body := c.post("/hours", bad)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "time zone name") ||
		!strings.Contains(body, "want a time such as 08:00") {
		t.Errorf("bad schedule: %d\n%.800s", resp.StatusCode, body)
	}
	if list, _ := st.Schedules(t.Context()); len(list) != 2 {
		t.Errorf("a refused schedule was stored: %+v", list)
	}

	form.Set("hours", "mon-sun 00:00-24:00")
	form.Set("closed", "1")
	if resp, body := c.post("/hours/"+itoa(sch.ID), form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d\n%.500s", resp.StatusCode, body)
	}
	if got, _ := st.Schedule(t.Context(), sch.ID); got.Hours != "mon-sun 00:00-24:00" || !got.Closed {
		t.Errorf("after update: %+v", got)
	}

	num := url.Values{"number": {"+48 22 100 00 01"}, "schedule_id": {itoa(sch.ID)}, "outside": {"20002"}}
	if resp, body := c.post("/hours/numbers", num); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("number: %d\n%.500s", resp.StatusCode, body)
	}
	if h, err := st.DIDHours(t.Context(), "+48221000001"); err != nil || h.Outside != "20002" || h.ScheduleID != sch.ID {
		t.Errorf("did hours %+v, %v", h, err)
	}
	if resp, body := c.post("/hours/numbers", url.Values{"number": {"+48221000001"}, "schedule_id": {"0"},
		"outside": {"1"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "extension of a user or group") {
		t.Errorf("bad number form: %d\n%.500s", resp.StatusCode, body)
	}
	// In use: the schedule stays, and the answer says why.
	if resp, body := c.post("/hours/"+itoa(sch.ID)+"/delete", nil); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, "used by inbound numbers") {
		t.Errorf("delete in use: %d\n%.500s", resp.StatusCode, body)
	}
	if resp, _ := c.post("/hours/numbers/delete", url.Values{"number": {"+48221000001"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("number delete: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/hours/"+itoa(sch.ID)+"/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if !audited(t, st, "hours.schedule.create", "schedule:"+itoa(sch.ID)) || !audited(t, st, "hours.did", "did:+48221000001") {
		t.Errorf("changes not audited")
	}
}

// TestOfficeHoursRefused: an agent (ivr.control none) gets 403 with the
// reason on the page and on the API, and changes nothing; an admin
// (ivr.control any, seed 002) works through the API.
func TestOfficeHoursRefused(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	seedTelephony(t, st)
	agent := f.as(t, ts.URL, pAgent)
	for _, try := range []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodGet, "/hours", nil},
		{http.MethodPost, "/hours", url.Values{"name": {"Mine"}, "time_zone": {"UTC"}}},
		{http.MethodPost, "/hours/1", url.Values{"name": {"Mine"}, "time_zone": {"UTC"}}},
		{http.MethodPost, "/hours/numbers/delete", url.Values{"number": {seedDID}}},
	} {
		var resp *http.Response
		var body string
		if try.method == http.MethodGet {
			resp, body = agent.get(try.path)
		} else {
			resp, body = agent.post(try.path, try.form)
		}
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not allowed for you") {
			t.Errorf("agent %s %s: %d\n%.300s", try.method, try.path, resp.StatusCode, body)
		}
	}
	api := f.api(t, ts.URL, pAgent)
	out := api.call(t, http.MethodPost, "/api/v1/schedules", `{"name":"Mine","time_zone":"UTC"}`, http.StatusForbidden)
	if e, _ := out["error"].(map[string]any); e["code"] != "forbidden" || !strings.Contains(e["message"].(string), "not allowed") {
		t.Errorf("agent API refusal: %v", out)
	}
	api.call(t, http.MethodDelete, "/api/v1/did-hours/"+url.PathEscape(seedDID), ``, http.StatusForbidden)
	if h, err := st.DIDHours(t.Context(), seedDID); err != nil || h.Schedule.Name != "Reception" {
		t.Errorf("after the refusals: %+v, %v", h, err)
	}
	if list, _ := st.Schedules(t.Context()); len(list) != 1 {
		t.Errorf("after the refusals: %+v", list)
	}

	admin := f.api(t, ts.URL, pAdmin)
	created := admin.call(t, http.MethodPost, "/api/v1/schedules",
		`{"name":"Night desk","time_zone":"Europe/Warsaw","hours":"fri 22:00-06:00","holidays":"12-24"}`, http.StatusCreated)
	if created["hours"] != "fri 22:00-06:00" || created["time_zone"] != "Europe/Warsaw" {
		t.Errorf("created %v", created)
	}
	id := itoa(int64(created["id"].(float64)))
	admin.call(t, http.MethodPut, "/api/v1/schedules/"+id, `{"name":"Night desk","time_zone":"Nowhere/Else"}`, http.StatusBadRequest)
	admin.call(t, http.MethodPut, "/api/v1/did-hours/"+url.PathEscape(seedDID), `{"schedule_id":`+id+`,"outside":"20003"}`, http.StatusOK)
	got := admin.call(t, http.MethodGet, "/api/v1/did-hours", ``, http.StatusOK)
	if d, _ := got["data"].([]any); len(d) != 1 || d[0].(map[string]any)["schedule"] != "Night desk" {
		t.Errorf("did hours list %v", got)
	}
	admin.call(t, http.MethodDelete, "/api/v1/schedules/"+id, ``, http.StatusConflict)
}

// TestRolesMatrixSaysWhyIVRControl: the role page explains ivr.control.
func TestRolesMatrixSaysWhyIVRControl(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	_, page := f.as(t, ts.URL, pOwner).get("/roles/" + itoa(f.roles["lead"].ID))
	if !strings.Contains(page, "ivr.control") || !strings.Contains(page, "View and edit office hours") {
		t.Errorf("roles matrix lacks ivr.control's why\n%.300s", page)
	}
}
