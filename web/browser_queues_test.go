package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-pbx/switchboard/acd"
	"github.com/switchboard-pbx/switchboard/directory"
)

// TestBrowserQueueBoardLive: in Chromium the queue board follows the
// queue without a reload: a caller who starts waiting while the page is
// open appears on it, with the waiting count.
func TestBrowserQueueBoardLive(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	live := &queueLive{}
	_, st, ts := f.openWith(t, live, Config{})
	q := &directory.Queue{Number: "28000", Name: "Hotline", Members: []int64{f.users[pAgent].ID}}
	if err := st.CreateQueue(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	agents := []acd.AgentState{{ID: itoa(f.users[pAgent].ID), State: "idle"}}
	live.set([]QueueStatus{{Queue: *q, Agents: agents}})
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("login", chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), pOwner+"@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("nav")))
	run("board", chromedp.Navigate(ts.URL+"/queues"), chromedp.WaitVisible(chromedp.CSS("#live .agent")))
	if n, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#live .waiting"))); err != nil || n != "0" {
		t.Fatalf("waiting before: %q %v", n, err)
	}
	live.set([]QueueStatus{{Queue: *q, Agents: agents, Stats: acd.Stats{Waiting: 1},
		Waiting: []QueueCaller{{CallID: "c1", From: "+48601999888", Since: time.Now(), Position: 1}}}})
	run("the caller appears", chromedp.WaitVisible(chromedp.CSS("#live tr.caller")), shot("queue-board-live"))
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#live")))
	if err != nil || !strings.Contains(got, "+48601999888") {
		t.Fatalf("the board after the refresh: %v\n%s", err, got)
	}
}
