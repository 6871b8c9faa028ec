package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// addOutboundRecording adds, to the fixture's store st, an outbound call of
// the agent to +48 22 555 0100 the day before the fixture's calls, with a
// recording of 95 s.
func addOutboundRecording(t *testing.T, f *fixture, st directory.Store) (*directory.Call, *directory.Recording) {
	t.Helper()
	t0 := time.Date(2025, 3, 13, 16, 0, 0, 0, time.UTC)
	c := &directory.Call{SIPCallID: "call-out", CallerID: f.users[pAgent].ID, From: f.users[pAgent].Extension,
		To: "+48225550100", Dialed: "0225550100", Direction: directory.Outbound, StartedAt: t0,
		AnsweredAt: t0.Add(3 * time.Second), EndedAt: t0.Add(98 * time.Second), Disposition: directory.Answered}
	if err := st.CreateCall(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	rec := &directory.Recording{CallID: c.ID, Path: f.recs["sales"].Path, Size: f.recs["sales"].Size,
		SHA256: f.recs["sales"].SHA256, Duration: 95 * time.Second, State: directory.RecordingDone}
	if err := st.CreateRecording(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func TestRecordingFiltersAPI(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	_, out := addOutboundRecording(t, f, st)
	sales, support := f.recs["sales"].ID, f.recs["support"].ID
	list := func(p, query string) ([]recordingJSON, int, string) {
		t.Helper()
		resp, body := f.api(t, ts.URL, p).get("/api/v1/recordings?" + query)
		var l struct{ Data []recordingJSON }
		if resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(body), &l); err != nil {
				t.Fatal(err)
			}
		}
		return l.Data, resp.StatusCode, body
	}
	ids := func(rs []recordingJSON) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		name, who, query string
		want             []int64
	}{
		{"no filter, newest first", pOwner, "", []int64{out.ID, support, sales}},
		{"a day in the viewer's zone", pOwner, "from=2025-03-14&to=2025-03-14", []int64{support, sales}},
		{"yesterday", pOwner, "from=2025-03-13&to=2025-03-13", []int64{out.ID}},
		{"user", pOwner, "user_id=" + itoa(f.users[pAgent].ID), []int64{out.ID, sales}},
		{"group (direct members)", pOwner, "group_id=" + itoa(f.groups["support"].ID), []int64{support}},
		{"direction", pOwner, "direction=outbound", []int64{out.ID}},
		{"number as typed", pOwner, "number=" + url.QueryEscape("+48 22 555"), []int64{out.ID}},
		{"at least a minute", pOwner, "min_duration=60", []int64{out.ID}},
		{"at most 0:30", pOwner, "max_duration=0:30", []int64{support, sales}},
		{"longest first", pOwner, "sort=longest", []int64{out.ID, support, sales}},
		{"oldest first, page 2 of 1", pOwner, "sort=oldest&per_page=1&page=2", []int64{support}},
		{"call_id still works", pOwner, "call_id=" + itoa(f.calls["support"].ID), []int64{support}},
		{"the agent sees their own only", pAgent, "", []int64{out.ID, sales}},
		{"filters do not widen the agent's scope", pAgent, "group_id=" + itoa(f.groups["support"].ID), nil},
	} {
		got, status, body := list(c.who, c.query)
		if status != 200 {
			t.Errorf("%s: %d %s", c.name, status, body)
			continue
		}
		if g := ids(got); !equalIDs(g, c.want) {
			t.Errorf("%s (%s): %v, want %v", c.name, c.query, g, c.want)
		}
	}
	got, _, _ := list(pOwner, "call_id="+itoa(f.calls["sales"].ID))
	if len(got) != 1 || got[0].CallerName != "Agent Person" || got[0].CalleeName != "Lead Person" ||
		got[0].From != f.users[pAgent].Extension || got[0].Direction != "internal" {
		t.Errorf("names and numbers of the call: %+v", got)
	}
	for q, field := range map[string]string{"direction=sideways": "direction", "min_duration=abc": "min_duration",
		"min_duration=90&max_duration=60": "max_duration", "sort=loudest": "sort", "from=14.03.2025": "from",
		"user_id=x": "user"} {
		_, status, body := list(pOwner, q)
		if status != http.StatusBadRequest || !strings.Contains(body, `"`+field+`"`) {
			t.Errorf("%s: %d %s, want 400 naming %s", q, status, body, field)
		}
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRecordingPageAndHistoryLinks: the page filters as the API does,
// shows names next to numbers, and the call history links each call to
// its recording and back.
func TestRecordingPageAndHistoryLinks(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	oc, out := addOutboundRecording(t, f, st)
	owner := f.as(t, ts.URL, pOwner)
	resp, body := owner.get("/recordings?direction=outbound&min_duration=1:00")
	if resp.StatusCode != 200 {
		t.Fatalf("recordings: %d", resp.StatusCode)
	}
	if !strings.Contains(body, `id="rec-`+itoa(out.ID)+`"`) || strings.Contains(body, `id="rec-`+itoa(f.recs["sales"].ID)+`"`) {
		t.Errorf("the page does not filter: %s", body)
	}
	back := `href="/calls?from=2025-03-13&amp;to=2025-03-13&amp;number=` + f.users[pAgent].Extension + `#call-` + itoa(oc.ID) + `"`
	if !strings.Contains(body, back) {
		t.Errorf("no link back to the call %s", back)
	}
	if !strings.Contains(body, "Agent Person") {
		t.Error("no name next to the caller's number")
	}
	if resp, body := owner.get("/recordings?direction=sideways"); resp.StatusCode != 400 || !strings.Contains(body, "direction") {
		t.Errorf("a bad filter: %d", resp.StatusCode)
	}
	_, hist := owner.get("/calls?from=2025-03-13&to=2025-03-13")
	link := `href="/recordings?call_id=` + itoa(oc.ID) + `#rec-` + itoa(out.ID) + `"`
	if !strings.Contains(hist, `id="call-`+itoa(oc.ID)+`"`) || !strings.Contains(hist, link) {
		t.Errorf("the history does not link the call to its recording (%s)", link)
	}
	// The agent's history does not link to a recording they may not hear.
	_, hist = f.as(t, ts.URL, pPeer).get("/calls")
	if strings.Contains(hist, "/recordings?call_id="+itoa(f.calls["sales"].ID)) {
		t.Error("a peer's history links to a recording outside their scope")
	}
}

// TestRecordingSettingsByName: the settings page takes recorded users and
// groups by name and shows them so; an unknown name is named back.
func TestRecordingSettingsByName(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	owner := f.as(t, ts.URL, pOwner)
	resp, body := owner.post("/settings", url.Values{"recording.policy": {"selected"},
		"recording.users": {"Agent Person, 20005, lead@example.com"}, "recording.groups": {"Sales North"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	users, _ := st.Setting(t.Context(), directory.SettingRecordingUsers)
	groups, _ := st.Setting(t.Context(), directory.SettingRecordingGroup)
	want := itoa(f.users[pAgent].ID) + "," + itoa(f.users[pPeer].ID) + "," + itoa(f.users[pLead].ID)
	if users != want || groups != itoa(f.groups["north"].ID) {
		t.Errorf("stored users %q groups %q, want %q and %d", users, groups, want, f.groups["north"].ID)
	}
	_, page := owner.get("/settings")
	if !strings.Contains(page, `value="Agent Person, Peer Person, Lead Person"`) || !strings.Contains(page, `value="Sales North"`) {
		t.Errorf("the page does not show names")
	}
	resp, body = owner.post("/settings", url.Values{"recording.users": {"Agent Person, Jan Nikt"}, "recording.groups": {"Nowhere"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Jan Nikt") || !strings.Contains(body, "Nowhere") {
		t.Errorf("unknown names: %d, want 400 naming them", resp.StatusCode)
	}
	if u, _ := st.Setting(t.Context(), directory.SettingRecordingUsers); u != want {
		t.Errorf("a refused form changed the setting: %q", u)
	}
}
