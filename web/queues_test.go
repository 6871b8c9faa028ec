package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/acd"
	"github.com/switchboard-pbx/switchboard/directory"
)

// fixtureQueue gives the fixture a company-wide queue, ID 1 in its fresh
// store, with the agent as its agent.
func fixtureQueue(t testing.TB, st directory.Store, agent int64) {
	t.Helper()
	if err := st.CreateQueue(t.Context(), &directory.Queue{Number: "29000", Name: "Front desk", Members: []int64{agent}}); err != nil {
		t.Fatal(err)
	}
}

// queueLive is a Live running call queues: its board is what the test
// sets, and it records the agent actions it is asked for.
type queueLive struct {
	fakeLive
	mu    sync.Mutex
	board []QueueStatus
	acts  []string
}

func (l *queueLive) QueueBoard(context.Context) ([]QueueStatus, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.board, nil
}

func (l *queueLive) QueueAgent(_ context.Context, userID int64, action, reason string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acts = append(l.acts, itoa(userID)+" "+action+" "+reason)
	return nil
}

func (l *queueLive) set(board []QueueStatus) {
	l.mu.Lock()
	l.board = board
	l.mu.Unlock()
}

// TestQueuesAPI: an admin (queues.manage any, migration 00017) creates a
// queue with agents, changes them, acts on an agent, reads the live board
// and deletes the queue; a number in use and a non-member are refused.
func TestQueuesAPI(t *testing.T) {
	f := newFixture(t)
	live := &queueLive{}
	_, st, ts := f.openWith(t, live, Config{})
	admin := f.api(t, ts.URL, pAdmin)
	agent, peer := f.users[pAgent], f.users[pPeer]
	out := admin.call(t, http.MethodPost, "/api/v1/queues", `{"number":"28000","name":"Support line","strategy":"longest_idle",
		"max_wait_seconds":60,"overflow":"`+peer.Extension+`","members":[`+itoa(agent.ID)+`]}`, http.StatusCreated)
	if out["number"] != "28000" || out["strategy"] != "longest_idle" || out["ring_seconds"] != float64(20) {
		t.Errorf("created %v", out)
	}
	id := itoa(int64(out["id"].(float64)))
	admin.call(t, http.MethodPost, "/api/v1/queues", `{"number":"`+agent.Extension+`","name":"Clash"}`, http.StatusConflict)
	admin.call(t, http.MethodPost, "/api/v1/queues", `{"number":"28001","name":"Bad","strategy":"random"}`, http.StatusBadRequest)
	out = admin.call(t, http.MethodPut, "/api/v1/queues/"+id+"/members", `{"members":[`+itoa(agent.ID)+`,`+itoa(peer.ID)+`]}`, http.StatusOK)
	if m, _ := out["members"].([]any); len(m) != 2 {
		t.Errorf("members %v", out)
	}
	admin.call(t, http.MethodPost, "/api/v1/queues/"+id+"/agents/"+itoa(peer.ID)+"/pause", `{"reason":"lunch"}`, http.StatusNoContent)
	admin.call(t, http.MethodPost, "/api/v1/queues/"+id+"/agents/"+itoa(f.users[pOwner].ID)+"/login", ``, http.StatusBadRequest)
	admin.call(t, http.MethodPost, "/api/v1/queues/"+id+"/agents/"+itoa(peer.ID)+"/dance", ``, http.StatusNotFound)
	if len(live.acts) != 1 || live.acts[0] != itoa(peer.ID)+" pause lunch" {
		t.Errorf("agent actions: %q", live.acts)
	}
	q, err := st.Queue(t.Context(), int64(out["id"].(float64)))
	if err != nil {
		t.Fatal(err)
	}
	live.set([]QueueStatus{{Queue: *q, Stats: acd.Stats{Entered: 3, Answered: 2, AnsweredWithin: 1, Abandoned: 1, Waiting: 1},
		Waiting: []QueueCaller{{CallID: "c1", From: "+48221234567", Since: time.Now().Add(-42 * time.Second), Position: 1}},
		Agents:  []acd.AgentState{{ID: itoa(peer.ID), State: "paused", Reason: "lunch"}}}})
	board := admin.call(t, http.MethodGet, "/api/v1/queues/"+id+"/board", ``, http.StatusOK)
	w, _ := board["waiting"].([]any)
	ag, _ := board["agents"].([]any)
	stats, _ := board["stats"].(map[string]any)
	if len(w) != 1 || w[0].(map[string]any)["from"] != "+48221234567" || w[0].(map[string]any)["waiting_seconds"].(float64) < 42 ||
		len(ag) != 1 || ag[0].(map[string]any)["state"] != "paused" || stats["service_level"] != 1.0/3 {
		t.Errorf("board %v", board)
	}
	list := admin.call(t, http.MethodGet, "/api/v1/queues", ``, http.StatusOK)
	if d, _ := list["data"].([]any); len(d) != 2 { // and the fixture's
		t.Errorf("list %v", list)
	}
	admin.call(t, http.MethodDelete, "/api/v1/queues/"+id, ``, http.StatusNoContent)
	admin.call(t, http.MethodGet, "/api/v1/queues/"+id, ``, http.StatusNotFound)
	if !audited(t, st, "queue.create", "queue:"+id) || !audited(t, st, "queue.agent", "user:"+itoa(peer.ID)) ||
		!audited(t, st, "queue.delete", "queue:"+id) {
		t.Error("queue changes not audited")
	}
}

// TestQueuesRefused: an agent (queues.view and queues.manage none) gets
// 403 on the page and the API and changes nothing; the nav has no Queues.
func TestQueuesRefused(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.openWith(t, &queueLive{}, Config{})
	q := &directory.Queue{Number: "28000", Name: "Support line"}
	if err := st.CreateQueue(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	c := f.as(t, ts.URL, pAgent)
	if resp, body := c.get("/queues"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not allowed for you") {
		t.Errorf("agent's queue page: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/queues/"+itoa(q.ID)+"/agents/"+itoa(f.users[pAgent].ID)+"/login", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent logs themself in on the web: %d", resp.StatusCode)
	}
	if _, page := c.get("/"); strings.Contains(page, `href="/queues"`) {
		t.Error("the agent's nav shows Queues")
	}
	api := f.api(t, ts.URL, pAgent)
	api.call(t, http.MethodGet, "/api/v1/queues", ``, http.StatusForbidden)
	api.call(t, http.MethodPut, "/api/v1/queues/"+itoa(q.ID), `{"number":"28000","name":"Mine"}`, http.StatusForbidden)
	api.call(t, http.MethodGet, "/api/v1/queues/"+itoa(q.ID)+"/board", ``, http.StatusForbidden)
	if got, _ := st.Queue(t.Context(), q.ID); got.Name != "Support line" {
		t.Errorf("after the refusals: %+v", got)
	}
}

// TestQueuesBoardDepartmentScope: a team lead of Sales holding queues.view
// at department scope sees the board of Sales' queue, not Support's, and
// cannot edit either (queues.manage none).
func TestQueuesBoardDepartmentScope(t *testing.T) {
	f := newFixture(t)
	live := &queueLive{}
	_, st, ts := f.openWith(t, live, Config{})
	if err := st.SetOverrides(t.Context(), f.users[pLead].ID, map[string]string{"queues.view": "department"}); err != nil {
		t.Fatal(err)
	}
	sales := &directory.Queue{Number: "28000", Name: "Sales line", GroupID: f.groups["sales"].ID, Members: []int64{f.users[pAgent].ID}}
	support := &directory.Queue{Number: "28001", Name: "Support line", GroupID: f.groups["support"].ID}
	for _, q := range []*directory.Queue{sales, support} {
		if err := st.CreateQueue(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	live.set([]QueueStatus{
		{Queue: *sales, Stats: acd.Stats{Waiting: 1}, Waiting: []QueueCaller{{From: "+48221111111", Since: time.Now(), Position: 1}},
			Agents: []acd.AgentState{{ID: itoa(f.users[pAgent].ID), State: "on_call"}}},
		{Queue: *support, Waiting: []QueueCaller{{From: "+48229999999", Since: time.Now(), Position: 1}}},
	})
	lead := f.as(t, ts.URL, pLead)
	resp, page := lead.get("/queues")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Sales line") || !strings.Contains(page, "48221111111") ||
		!strings.Contains(page, "On a call") || strings.Contains(page, "Support line") || strings.Contains(page, "48229999999") ||
		strings.Contains(page, "New queue") {
		t.Errorf("lead's queue page: %d\n%.3000s", resp.StatusCode, page)
	}
	api := f.api(t, ts.URL, pLead)
	api.call(t, http.MethodGet, "/api/v1/queues/"+itoa(support.ID)+"/board", ``, http.StatusNotFound)
	api.call(t, http.MethodGet, "/api/v1/queues/"+itoa(sales.ID)+"/board", ``, http.StatusOK)
	api.call(t, http.MethodPut, "/api/v1/queues/"+itoa(sales.ID), `{"number":"28000","name":"Mine"}`, http.StatusForbidden)
}

// TestQueuesPage: the owner creates a queue with the form (agents by
// extension), sees mistakes named, and logs an agent out from the board.
func TestQueuesPage(t *testing.T) {
	f := newFixture(t)
	live := &queueLive{}
	_, st, ts := f.openWith(t, live, Config{})
	c := f.as(t, ts.URL, pOwner)
	form := url.Values{"number": {"28000"}, "name": {"Hotline"}, "strategy": {"round_robin"}, "members": {"20004, 20005"},
		"ring_seconds": {"15"}, "wrap_up_seconds": {"10"}, "group_id": {"0"}}
	if resp, body := c.post("/queues", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%.500s", resp.StatusCode, body)
	}
	q, err := st.QueueByNumber(t.Context(), "28000")
	list := []directory.Queue{}
	if q != nil {
		list = append(list, *q)
	}
	if err != nil || len(list) != 1 || list[0].Strategy != "round_robin" || list[0].RingSeconds != 15 ||
		len(list[0].Members) != 2 || list[0].Members[0] != f.users[pAgent].ID {
		t.Fatalf("queues %+v %v", list, err)
	}
	bad := url.Values{"number": {"20001"}, "name": {"Clash"}, "members": {"99999"}}
	if resp, body := c.post("/queues", bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no user has extension 99999") {
		t.Errorf("bad members: %d\n%.500s", resp.StatusCode, body)
	}
	bad.Set("members", "")
	if resp, body := c.post("/queues", bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "already in use") {
		t.Errorf("number clash: %d\n%.500s", resp.StatusCode, body)
	}
	live.set([]QueueStatus{{Queue: list[0], Agents: []acd.AgentState{{ID: itoa(f.users[pAgent].ID), State: "idle"}}}})
	_, page := c.get("/queues")
	if !strings.Contains(page, "Ready") || !strings.Contains(page, "/queues/"+itoa(list[0].ID)+"/agents/"+itoa(f.users[pAgent].ID)+"/logout") {
		t.Errorf("board lacks the agent\n%.3000s", page)
	}
	if resp, _ := c.post("/queues/"+itoa(list[0].ID)+"/agents/"+itoa(f.users[pAgent].ID)+"/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if len(live.acts) != 1 || live.acts[0] != itoa(f.users[pAgent].ID)+" logout " {
		t.Errorf("agent actions: %q", live.acts)
	}
}

// TestQueueCallHistory: a queue call's row shows the queue and the wait
// in the history page, the API and the CSV export (with abandoned).
func TestQueueCallHistory(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	t0 := time.Date(2025, 3, 20, 10, 0, 0, 0, time.UTC)
	abandoned := &directory.Call{SIPCallID: "q-abandon", From: "+48221234567", To: "28000", Dialed: "28000",
		Direction: directory.Inbound, StartedAt: t0, EndedAt: t0.Add(95 * time.Second), Disposition: directory.Cancelled,
		HangupBy: "caller", Queue: "28000", QueueWait: 95 * time.Second}
	if err := st.CreateCall(t.Context(), abandoned); err != nil {
		t.Fatal(err)
	}
	c := f.as(t, ts.URL, pOwner)
	resp, body := c.get("/calls.csv?from=2025-03-20&to=2025-03-20")
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if resp.StatusCode != http.StatusOK || err != nil || len(recs) < 2 {
		t.Fatalf("csv: %d %v\n%.500s", resp.StatusCode, err, body)
	}
	head := recs[0]
	n := len(head)
	if head[n-3] != "queue" || head[n-2] != "queue_wait_seconds" || head[n-1] != "queue_abandoned" {
		t.Errorf("csv header %q", head)
	}
	found := false
	for _, r := range recs[1:] {
		if r[n-3] == "28000" {
			found = r[n-2] == "95" && r[n-1] == "true"
		}
	}
	if !found {
		t.Errorf("csv lacks the queue call\n%s", body)
	}
	_, page := c.get("/calls?from=2025-03-20&to=2025-03-20")
	if !strings.Contains(page, "Queue 28000") {
		t.Errorf("history page lacks the queue\n%.2000s", page)
	}
	out := f.api(t, ts.URL, pOwner).call(t, http.MethodGet, "/api/v1/calls/"+itoa(abandoned.ID), ``, http.StatusOK)
	if out["queue"] != "28000" || out["queue_wait_seconds"] != float64(95) || out["queue_abandoned"] != true {
		t.Errorf("API call %v", out)
	}
}

// TestRolesMatrixSaysWhyQueues: the role page explains both permissions.
func TestRolesMatrixSaysWhyQueues(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	_, page := f.as(t, ts.URL, pOwner).get("/roles/" + itoa(f.roles["lead"].ID))
	if !strings.Contains(page, "queues.view") || !strings.Contains(page, "The live queue board") ||
		!strings.Contains(page, "queues.manage") {
		t.Errorf("roles matrix lacks the queues' why\n%.300s", page)
	}
}
