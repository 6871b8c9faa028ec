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
// (ivr.control any) works through the API.
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

// TestOfficeHoursDepartmentScope: a team lead of Sales holding
// ivr.control at department scope works on the hours of Sales and its
// subgroup, not on Support's, company-wide ones or the numbers' routing.
func TestOfficeHoursDepartmentScope(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	seedTelephony(t, st)
	if err := st.SetOverrides(t.Context(), f.users[pLead].ID, map[string]string{"ivr.control": "department"}); err != nil {
		t.Fatal(err)
	}
	mk := func(name, group string) *directory.Schedule {
		s := &directory.Schedule{Name: name, GroupID: f.groups[group].ID, TimeZone: "Europe/Warsaw", Hours: "mon-fri 09:00-17:00"}
		if err := st.CreateSchedule(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	salesH, northH, supportH := mk("Sales hours", "sales"), mk("North hours", "north"), mk("Support hours", "support")
	lead := f.as(t, ts.URL, pLead)
	resp, page := lead.get("/hours")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Sales hours") || !strings.Contains(page, "North hours") ||
		strings.Contains(page, "Support hours") || strings.Contains(page, "Reception") ||
		strings.Contains(page, "Inbound numbers with office hours") {
		t.Errorf("lead's hours page: %d\n%.2000s", resp.StatusCode, page[strings.Index(page, "<main"):])
	}
	if resp, _ := lead.get("/hours/" + itoa(supportH.ID)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("Support's hours for Sales' lead: %d, want 404", resp.StatusCode)
	}
	edit := url.Values{"name": {"North hours"}, "group_id": {itoa(f.groups["north"].ID)}, "time_zone": {"Europe/Warsaw"},
		"hours": {"mon-fri 08:00-16:00"}}
	if resp, body := lead.post("/hours/"+itoa(northH.ID), edit); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("lead edits the subgroup's hours: %d\n%.300s", resp.StatusCode, body)
	}
	if got, _ := st.Schedule(t.Context(), northH.ID); got.Hours != "mon-fri 08:00-16:00" {
		t.Errorf("north after the lead's edit: %+v", got)
	}
	for _, try := range []struct {
		what, path string
		form       url.Values
	}{
		{"move the hours to Support", "/hours/" + itoa(salesH.ID), url.Values{"name": {"Sales hours"},
			"group_id": {itoa(f.groups["support"].ID)}, "time_zone": {"UTC"}}},
		{"create company-wide hours", "/hours", url.Values{"name": {"All"}, "group_id": {"0"}, "time_zone": {"UTC"}}},
		{"route a number", "/hours/numbers", url.Values{"number": {seedDID}, "schedule_id": {itoa(salesH.ID)}, "outside": {"20003"}}},
	} {
		resp, body := lead.post(try.path, try.form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "allowed only within your department") {
			t.Errorf("lead: %s: %d\n%.300s", try.what, resp.StatusCode, body)
		}
	}
	if got, _ := st.Schedule(t.Context(), salesH.ID); got.GroupID != f.groups["sales"].ID {
		t.Errorf("sales hours moved by a refused form: %+v", got)
	}
	api := f.api(t, ts.URL, pLead)
	if list := api.call(t, http.MethodGet, "/api/v1/schedules", ``, http.StatusOK); len(list["data"].([]any)) != 2 {
		t.Errorf("lead's schedules by the API: %v", list)
	}
	api.call(t, http.MethodDelete, "/api/v1/schedules/"+itoa(supportH.ID), ``, http.StatusNotFound)
	api.call(t, http.MethodGet, "/api/v1/did-hours", ``, http.StatusForbidden)
	api.call(t, http.MethodPut, "/api/v1/did-hours/"+url.PathEscape(seedDID), `{"schedule_id":`+itoa(salesH.ID)+`,"outside":"20003"}`,
		http.StatusForbidden)
	if h, _ := st.DIDHours(t.Context(), seedDID); h.ScheduleID != 1 {
		t.Errorf("the number's hours changed: %+v", h)
	}
}
