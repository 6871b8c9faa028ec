package web

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func forwardOf(t *testing.T, st directory.Store, id int64) directory.Forwarding {
	t.Helper()
	u, err := st.User(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Forward
}

// Every signed-in user sets their own forwarding and DND on the account
// page; a mistake comes back under its field and nothing is stored.
func TestAccountSetsOwnForwarding(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	ag := f.users[pAgent]
	agent := f.as(t, ts.URL, pAgent)

	if resp, page := agent.get("/account"); resp.StatusCode != http.StatusOK ||
		!strings.Contains(page, `action="/account/forwarding"`) || !strings.Contains(page, "Do not disturb") {
		t.Fatalf("account page: %d, no forwarding form\n%.3000s", resp.StatusCode, page)
	}
	resp, page := agent.post("/account/forwarding", url.Values{"forward_always": {"call me"}, "forward_ring_seconds": {"3"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "must be an extension or a phone number") ||
		!strings.Contains(page, "must be 0 (the PBX ring time) or between 5 and 300 seconds") {
		t.Errorf("bad forward: %d\n%.4000s", resp.StatusCode, page)
	}
	if fw := forwardOf(t, st, ag.ID); fw != (directory.Forwarding{}) {
		t.Fatalf("a refused form stored %+v", fw)
	}

	resp, page = agent.post("/account/forwarding", url.Values{"dnd": {"1"}, "forward_busy": {"+48 22 123 45 67"},
		"forward_no_answer": {"10001"}, "forward_offline": {""}, "forward_ring_seconds": {"20"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set forwarding: %d\n%.3000s", resp.StatusCode, page)
	}
	want := directory.Forwarding{DND: true, Busy: "+48221234567", NoAnswer: "10001", RingSeconds: 20}
	if fw := forwardOf(t, st, ag.ID); fw != want {
		t.Fatalf("stored %+v, want %+v", fw, want)
	}
	if !audited(t, st, "user.forwarding", "user:"+itoa(ag.ID)) {
		t.Error("forwarding change not audited")
	}
	if _, page := agent.get("/account"); !strings.Contains(html.UnescapeString(page), `name="forward_busy" value="+48221234567"`) ||
		!strings.Contains(page, `name="dnd" value="1" checked`) {
		t.Error("the account page does not show the forwarding set")
	}
	// An unchecked box turns DND off; empty fields clear the targets.
	if resp, _ := agent.post("/account/forwarding", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear forwarding: %d", resp.StatusCode)
	}
	if fw := forwardOf(t, st, ag.ID); fw != (directory.Forwarding{}) {
		t.Errorf("after clearing: %+v", fw)
	}
}

// An admin with users.manage sets another user's forwarding on the user
// page; a peer without users.manage over that user may not.
func TestUserPageSetsForwarding(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	ag := f.users[pAgent]
	path := "/users/" + itoa(ag.ID) + "/forwarding"
	admin := f.as(t, ts.URL, pAdmin)
	if _, page := admin.get("/users/" + itoa(ag.ID)); !strings.Contains(page, `action="`+path+`"`) {
		t.Fatalf("user page without the forwarding form\n%.3000s", page)
	}
	if resp, _ := f.as(t, ts.URL, pPeer).post(path, url.Values{"forward_always": {"10001"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("peer sets the agent's forwarding: %d, want 404", resp.StatusCode)
	}
	if fw := forwardOf(t, st, ag.ID); fw != (directory.Forwarding{}) {
		t.Fatalf("the peer's form stored %+v", fw)
	}
	resp, page := admin.post(path, url.Values{"forward_offline": {"abc"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "must be an extension or a phone number") {
		t.Errorf("bad target: %d\n%.3000s", resp.StatusCode, page)
	}
	if resp, page := admin.post(path, url.Values{"forward_always": {"10001"}, "dnd": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sets forwarding: %d\n%.3000s", resp.StatusCode, page)
	}
	if fw := forwardOf(t, st, ag.ID); fw != (directory.Forwarding{DND: true, Always: "10001"}) {
		t.Errorf("stored %+v", fw)
	}
	if !audited(t, st, "user.forwarding", "user:"+itoa(ag.ID)) {
		t.Error("forwarding change not audited")
	}
}

// The API shows the forwarding fields and PATCH sets them: one's own with
// users.manage own, another's only with users.manage over them.
func TestAPIForwarding(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	ag := f.users[pAgent]
	path := "/api/v1/users/" + itoa(ag.ID)
	agent, admin, peer := f.api(t, ts.URL, pAgent), f.api(t, ts.URL, pAdmin), f.api(t, ts.URL, pPeer)

	out := agent.call(t, "PATCH", path, `{"dnd":true,"forward_no_answer":"10001","forward_ring_seconds":15}`, http.StatusOK)
	if out["dnd"] != true || out["forward_no_answer"] != "10001" || out["forward_ring_seconds"] != float64(15) ||
		out["forward_always"] != "" {
		t.Errorf("own PATCH answered %v", out)
	}
	if fw := forwardOf(t, st, ag.ID); fw != (directory.Forwarding{DND: true, NoAnswer: "10001", RingSeconds: 15}) {
		t.Errorf("stored %+v", fw)
	}
	resp, body := agent.json("PATCH", path, `{"forward_busy":"nope","forward_ring_seconds":1000}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "forward_busy") ||
		!strings.Contains(body, "forward_ring_seconds") {
		t.Errorf("bad PATCH: %d %s", resp.StatusCode, body)
	}
	if resp, body := peer.json("PATCH", path, `{"dnd":false}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("peer PATCH of the agent: %d %s, want 404", resp.StatusCode, body)
	}
	out = admin.call(t, "PATCH", path, `{"dnd":false,"forward_always":"+48221234567"}`, http.StatusOK)
	if out["dnd"] != false || out["forward_always"] != "+48221234567" || out["forward_no_answer"] != "10001" {
		t.Errorf("admin PATCH answered %v", out)
	}
	got := admin.call(t, "GET", path, "", http.StatusOK)
	if got["forward_always"] != "+48221234567" || got["dnd"] != false || got["forward_ring_seconds"] != float64(15) {
		t.Errorf("GET %v", got)
	}
}
