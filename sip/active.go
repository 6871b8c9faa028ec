package sip

import (
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/route"
)

// ActiveCall is a call in progress, as the dashboard shows it.
type ActiveCall struct {
	CallID    string // of the caller's leg
	CallerID  int64  // user IDs, 0 for a number outside the PBX
	CalleeID  int64
	From, To  string // extensions or numbers; To is the number dialed
	Direction string // internal, outbound, inbound
	State     string // "ringing" until media comes from the callee's side, then "talking"; "parked"
	StartedAt time.Time
}

// shownCalls is the table's calls as the dashboard shows them, oldest
// first (Server.ActiveCalls).
func (t *callTable) shownCalls() []ActiveCall {
	t.mu.Lock()
	out := make([]ActiveCall, 0, len(t.calls))
	for id, c := range t.calls {
		v := c.shown.Load()
		if c.id != id || v == nil { // the B leg's alias, or not routed yet
			continue
		}
		ac := ActiveCall{CallID: c.id, CallerID: v.callerID, CalleeID: v.calleeID, From: v.from, To: v.to,
			Direction: string(v.dir), State: "ringing", StartedAt: v.started}
		if c.Relay != nil && c.Relay.Stats(media.LegB).Packets > 0 {
			ac.State = "talking"
		}
		if v.parked {
			ac.State = "parked" // To is the orbit
		}
		out = append(out, ac)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b ActiveCall) int { return a.StartedAt.Compare(b.StartedAt) })
	return out
}

// activeView is who a call is between, as the dashboard shows it: the
// route's parties, or after a transfer those of its current CDR row.
type activeView struct {
	callerID, calleeID int64
	from, to           string
	dir                directory.Direction
	started            time.Time
	parked             bool // on a park orbit (park.go)
}

// showRoute publishes the parties of rt, the call's route, for
// ActiveCalls.
func (cr *callRecord) showRoute(rt *route.Route) {
	to := rt.To
	if to == "" {
		to = rt.Dialed
	}
	cr.shown.Store(&activeView{callerID: rt.CallerID, calleeID: rt.CalleeID, from: rt.From, to: to, dir: rt.Dir,
		started: cr.cdr.StartedAt})
}

// show publishes the parties of row, the call's row now, for ActiveCalls.
func (cr *callRecord) show(row directory.Call) {
	cr.shown.Store(&activeView{callerID: row.CallerID, calleeID: row.CalleeID, from: row.From, to: row.To,
		dir: row.Direction, started: row.StartedAt})
}
