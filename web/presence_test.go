package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-pbx/switchboard/directory"
)

// presenceLive is the live state the PBX would report: busy lamps that a
// test changes as calls would.
type presenceLive struct {
	mu    sync.Mutex
	state map[string]ExtPresence
}

func (l *presenceLive) Registrations() []directory.Binding { return nil }
func (l *presenceLive) ActiveCalls() []ActiveCall          { return nil }
func (l *presenceLive) Presence(ext string, info bool) ExtPresence {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.state[ext]
	if !ok {
		return ExtPresence{Status: "offline"}
	}
	if !info {
		p.Peer = ""
	}
	return p
}

func (l *presenceLive) set(ext string, p ExtPresence) {
	l.mu.Lock()
	l.state[ext] = p
	l.mu.Unlock()
}

// openLive is fixture.open with a live state.
func (f *fixture) openLive(t testing.TB, live Live) *httptest.Server {
	t.Helper()
	_, _, ts := f.openWith(t, live, Config{})
	return ts
}

// Extensions of the fixture's personas (20001 onwards, in this order).
const (
	extAdmin = "20002"
	extLead  = "20003"
	extPeer  = "20005"
	extOver  = "20006"
)

func TestPresenceDashboardVisibility(t *testing.T) {
	f := newFixture(t)
	live := &presenceLive{state: map[string]ExtPresence{
		extLead: {Status: "on_call", Peer: "+48221234567"},
		extOver: {Status: "ringing", Peer: "20001"},
	}}
	ts := f.openLive(t, live)

	// An agent of Support sees Support's lamps, with peers (calls.share
	// department), and nobody of Sales.
	res, body := f.as(t, ts.URL, pPeer).get("/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: %d", res.StatusCode)
	}
	if !strings.Contains(body, `data-ext="`+extOver+`"`) || !strings.Contains(body, "Ringing") || !strings.Contains(body, "20001") {
		t.Errorf("agent does not see a ringing colleague with the caller")
	}
	if strings.Contains(body, `data-ext="`+extLead+`"`) || strings.Contains(body, "221234567") {
		t.Errorf("agent sees a lamp of another department")
	}
	// The admin (presence.observe any) sees everyone, peers included.
	_, body = f.as(t, ts.URL, pAdmin).get("/")
	if !strings.Contains(body, `data-ext="`+extLead+`"`) || !strings.Contains(body, "221234567") {
		t.Errorf("admin does not see the lead's call")
	}
	// The feature codes are listed.
	for _, want := range []string{"*78", "*79", "*72NUMBER", "*73", "*31EXT", "*8", "**EXT", "*70", "*90EXT", "*91EXT"} {
		if !strings.Contains(body, want) {
			t.Errorf("feature codes lack %q", want)
		}
	}
}

func TestPresenceDashboardBrowser(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	live := &presenceLive{state: map[string]ExtPresence{extPeer: {Status: "available"}}}
	ts := f.openLive(t, live)
	u := ts.URL
	row := `#presence tr[data-ext="` + extPeer + `"]`
	if err := chromedp.Do(ctx, chromedp.Navigate(u+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), pAdmin+"@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword), chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	text := func() string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row)))
		if err != nil {
			t.Fatalf("read lamp: %v", err)
		}
		return s
	}
	if got := text(); !strings.Contains(got, "Idle") {
		t.Fatalf("lamp before the call: %q", got)
	}
	// A call starts: the page, left open, shows it without a reload.
	live.set(extPeer, ExtPresence{Status: "on_call", Peer: "Ann 20003"})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(row+`.lamp-on_call`))); err != nil {
		t.Fatalf("state change not shown: %v", err)
	}
	if got := text(); !strings.Contains(got, "On a call") || !strings.Contains(got, "Ann 20003") {
		t.Errorf("lamp during the call: %q", got)
	}

}

func TestFeatureCodesSettingsPage(t *testing.T) {
	f := newFixture(t)
	ts := f.openLive(t, &presenceLive{state: map[string]ExtPresence{}})
	owner := f.as(t, ts.URL, pOwner)
	res, body := owner.post("/settings", url.Values{"features.codes": {"dnd.on=*7"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "prefix") {
		t.Errorf("a code that is a prefix of others: %d", res.StatusCode)
	}
	res, _ = owner.post("/settings", url.Values{"features.codes": {"dnd.on=*55"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	if _, body = owner.get("/"); !strings.Contains(body, "<code>*55</code>") || strings.Contains(body, "<code>*78</code>") {
		t.Error("the dashboard does not list the changed code")
	}
}
