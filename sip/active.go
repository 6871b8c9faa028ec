package sip

import (
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// ActiveCall is a call in progress, as the dashboard shows it.
type ActiveCall struct {
	CallID    string // of the caller's leg
	CallerID  int64  // user IDs, 0 for a number outside the PBX
	CalleeID  int64
	From, To  string // extensions or numbers; To is the number dialed
	Direction string // internal, outbound, inbound
	State     string // "ringing" until media comes from the callee's side, then "talking"
	StartedAt time.Time
}

// ActiveCalls returns the calls in progress on this node, oldest first.
//
// It reads only what a call fixes before it is filed (route, start time,
// relay) or publishes atomically (shown, after a transfer) so that it never races the call's own goroutine; the state is
// therefore told from the relay's counters, not from the SIP dialog: early
// media counts as talking.
func (s *Server) ActiveCalls() []ActiveCall {
	b := s.calls
	b.mu.Lock()
	out := make([]ActiveCall, 0, len(b.calls))
	for id, c := range b.calls {
		if c.id != id || c.rt == nil { // the B leg's alias
			continue
		}
		ac := ActiveCall{CallID: c.id, CallerID: c.rt.callerID, CalleeID: c.rt.calleeID, From: c.rt.from,
			To: c.rt.dialed, Direction: string(c.rt.dir), State: "ringing", StartedAt: c.cdr.StartedAt}
		if c.rt.to != "" {
			ac.To = c.rt.to
		}
		if v := c.shown.Load(); v != nil { // transferred: the parties now
			ac.CallerID, ac.CalleeID, ac.From, ac.To = v.callerID, v.calleeID, v.from, v.to
			ac.Direction, ac.StartedAt = string(v.dir), v.started
		}
		if c.relay != nil && c.relay.Stats(media.LegB).Packets > 0 {
			ac.State = "talking"
		}
		out = append(out, ac)
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(a, b ActiveCall) int { return a.StartedAt.Compare(b.StartedAt) })
	return out
}

// activeView is who a call is between after a transfer: the parties of its
// current CDR row.
type activeView struct {
	callerID, calleeID int64
	from, to           string
	dir                directory.Direction
	started            time.Time
}

// show publishes the parties of row, the call's row now, for ActiveCalls.
func (c *call) show(row directory.Call) {
	c.shown.Store(&activeView{callerID: row.CallerID, calleeID: row.CalleeID, from: row.From, to: row.To,
		dir: row.Direction, started: row.StartedAt})
}
