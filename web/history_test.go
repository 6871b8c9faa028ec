package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// heldLive is a PBX holding call history writes the database did not take.
type heldLive struct {
	noLive
	held int
}

func (l heldLive) HistoryWritesHeld() int { return l.held }

// The dashboard shows how many call history writes wait for the
// database, to those who see all call history.
func TestDashboardHistoryWritesHeld(t *testing.T) {
	f := newFixture(t)
	_, st, _ := f.open(t)
	for _, tc := range []struct {
		name  string
		held  int
		who   string
		shown bool
	}{
		{"owner, writes held", 7, pOwner, true},
		{"agent: own history only", 7, pAgent, false},
		{"owner, none held", 0, pOwner, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{Addr: "127.0.0.1:0"}, st, heldLive{held: tc.held}, nil)
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(s)
			t.Cleanup(hs.Close)
			_, page := f.as(t, hs.URL, tc.who).get("/")
			shown := strings.Contains(page, `id="history-held"`)
			if shown != tc.shown || shown && !strings.Contains(page, "waiting for the database: <span class=\"count\">7</span>") {
				t.Errorf("count shown %v, want %v\n%.3000s", shown, tc.shown, page)
			}
		})
	}
}
