package sip

// The leg events of today's call code (call.go calls these at the few
// places where an extension's leg rings, is answered or ends). Each leg
// raises each state at most once, and ends once, whatever path the call
// takes; the call's goroutine runs them.

// legRaise raises state for the leg legID of ext unless already raised.
func (c *call) legRaise(legID, ext string, userID int64, initiator bool, st LegState, peer, peerName string) {
	if ext == "" || legID == "" {
		return
	}
	if c.legSeen == nil {
		c.legSeen = make(map[string]legSeen)
	}
	prev, ok := c.legSeen[legID]
	if ok && (prev.state >= st || prev.state == LegEnded) {
		return
	}
	if !ok && st == LegEnded {
		return // never raised: nothing to end
	}
	c.legSeen[legID] = legSeen{ext: ext, userID: userID, initiator: initiator, state: st, peer: peer, peerName: peerName}
	c.b.s.legEvent(LegEvent{CallID: c.id, LegID: legID, Ext: ext, UserID: userID, Initiator: initiator,
		State: st, Peer: peer, PeerName: peerName})
}

// legSeen is the last state raised for one leg.
type legSeen struct {
	ext       string
	userID    int64
	initiator bool
	state     LegState
	peer      string
	peerName  string
}

// callerRinging: the calling extension hears ringback.
func (c *call) callerRinging() {
	if c.caller != nil {
		c.legRaise(c.id, c.caller.Ext, c.caller.UserID, true, LegRinging, c.cdr.To, "")
	}
}

// forkRinging: an extension's phone is rung by fork f.
func (c *call) forkRinging(f *fork) {
	if f.t.ext != "" && !f.xfer {
		c.legRaise(f.req.CallID().Value(), f.t.ext, f.t.userID, false, LegRinging, c.cdr.From, c.callerName())
	}
}

// legsAnswered: f won; its extension and the caller talk.
func (c *call) legsAnswered(f *fork) {
	if c.caller != nil {
		c.legRaise(c.id, c.caller.Ext, c.caller.UserID, true, LegAnswered, c.cdr.To, "")
	}
	if f.t.ext != "" {
		c.legRaise(f.req.CallID().Value(), f.t.ext, f.t.userID, false, LegAnswered, c.cdr.From, c.callerName())
	}
}

// forkEnded: fork f got its final failure (or was cancelled).
func (c *call) forkEnded(f *fork) {
	c.legEnded(f.req.CallID().Value())
}

func (c *call) legEnded(legID string) {
	if p, ok := c.legSeen[legID]; ok {
		c.legRaise(legID, p.ext, p.userID, p.initiator, LegEnded, p.peer, p.peerName)
	}
}

// legsEnded: the call is over; every leg still up ends.
func (c *call) legsEnded() {
	for id := range c.legSeen {
		c.legEnded(id)
	}
}

// callerName is the caller's display name, "" when none.
func (c *call) callerName() string {
	if c.rt != nil {
		return c.rt.fromName
	}
	return ""
}
