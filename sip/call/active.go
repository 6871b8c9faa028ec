package call

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

// ShownCalls is the table's calls as the dashboard shows them, oldest
// first (Server.ActiveCalls).
func (t *callTable) ShownCalls() []ActiveCall {
	t.Mu.Lock()
	out := make([]ActiveCall, 0, len(t.Calls))
	for id, c := range t.Calls {
		v := c.Shown.Load()
		if c.ID != id || v == nil { // the B leg's alias, or not routed yet
			continue
		}
		ac := ActiveCall{CallID: c.ID, CallerID: v.CallerID, CalleeID: v.calleeID, From: v.From, To: v.To,
			Direction: string(v.Dir), State: "ringing", StartedAt: v.Started}
		if c.Relay != nil && c.Relay.Stats(media.LegB).Packets > 0 {
			ac.State = "talking"
		}
		if v.Parked {
			ac.State = "parked" // To is the orbit
		}
		out = append(out, ac)
	}
	t.Mu.Unlock()
	slices.SortFunc(out, func(a, b ActiveCall) int { return a.StartedAt.Compare(b.StartedAt) })
	return out
}

// ActiveView is who a call is between, as the dashboard shows it: the
// route's parties, or after a transfer those of its current CDR row.
type ActiveView struct {
	CallerID, calleeID int64
	From, To           string
	Dir                directory.Direction
	Started            time.Time
	Parked             bool // on a park orbit (package sip's park)
}

// showRoute publishes the parties of rt, the call's route, for
// ActiveCalls.
func (cr *callRecord) showRoute(rt *route.Route) {
	to := rt.To
	if to == "" {
		to = rt.Dialed
	}
	cr.Shown.Store(&ActiveView{CallerID: rt.CallerID, calleeID: rt.CalleeID, From: rt.From, To: to, Dir: rt.Dir,
		Started: cr.CDR.StartedAt})
}

// Show publishes the parties of row, the call's row now, for ActiveCalls.
func (cr *callRecord) Show(row directory.Call) {
	cr.Shown.Store(&ActiveView{CallerID: row.CallerID, calleeID: row.CalleeID, From: row.From, To: row.To,
		Dir: row.Direction, Started: row.StartedAt})
}
