package call

import "github.com/switchboard-pbx/switchboard/sip/dial"

// Leg events of one call: which extension legs ring, talk, or are over.
//
// Rather than raise events at each of the many places a leg starts,
// changes party or ends (forks, forwards, transfers, hangups), the call's
// actor compares after every event what it holds now with what it last
// told the observer (sync). What it holds now:
//   - ringing: the caller's leg while the call rings, and each INVITE to
//     an extension's phone not yet answered, failed or cancelled;
//   - answered: the two dialogs of an answered call whose party is an
//     extension;
//   - every other leg told before is over, and is told so exactly once.
//
// A dialog handed from one call to another (an attended transfer) ends
// in the first call and comes up answered in the second: watchers key a
// leg by CallID and LegID together. A supervisor's monitoring dialog is a
// leg of its own, raised by its session (sip/monitor).
//
// Only the actor touches legStates.

// LegStates is what the observer was told of a call's extension legs, by
// LegID.
type LegStates struct {
	told map[string]*LegEvent
}

// syncLegs raises the leg events that bring the observers (presence and
// busy lamps always, and whoever ObserveLegs names) up to date with the
// call.
func (c *Call) syncLegs() { c.lamps.Sync(c.Core.LegObservers, c.ID, c.liveLegs()) }

// Sync raises the leg events that bring the observers up to date with the
// extension legs live now in the call (or page) callID.
func (ls *LegStates) Sync(obs *LegObservers, callID string, live []LegEvent) {
	if ls.told == nil {
		ls.told = make(map[string]*LegEvent)
	}
	for _, ev := range live {
		ev.CallID = callID
		prev, ok := ls.told[ev.LegID]
		switch {
		case !ok:
		case prev.State == LegEnded:
			continue // a leg over stays over
		case prev.State == ev.State && prev.Peer == ev.Peer && prev.PeerName == ev.PeerName:
			continue
		}
		if ok && ev.State == LegRinging && prev.State == LegAnswered {
			continue // never back from talking to ringing
		}
		ls.told[ev.LegID] = &ev
		obs.Emit(ev)
	}
	for id, prev := range ls.told {
		if prev.State == LegEnded || hasLeg(live, id) {
			continue
		}
		ended := *prev
		ended.State = LegEnded
		ls.told[id] = &ended
		obs.Emit(ended)
	}
}

func hasLeg(live []LegEvent, id string) bool {
	for _, l := range live {
		if l.LegID == id {
			return true
		}
	}
	return false
}

// liveLegs lists the extension legs the call holds now: the caller's and
// the call's forks while it rings; once answered, its legs and the forks
// of its rooms.
func (c *Call) liveLegs() []LegEvent {
	switch c.State {
	case StRinging:
		return appendRinging(c.callerRinging(c.ID, c.Caller), c.Ring.Forks)
	case StAnswered:
		ids := [2]string{c.Legs[0].Dialog.CallID, c.Legs[1].Dialog.CallID}
		return appendRinging(c.answeredLegs(ids, c.legReplaced), c.Rooms.RingingForks())
	}
	return nil
}

// callerRinging lists the leg of caller, an extension (nil: a trunk), in
// callID while the call rings, with the number it dialed.
func (cr *callRecord) callerRinging(callID string, caller *Credential) []LegEvent {
	if caller == nil {
		return nil
	}
	return []LegEvent{{LegID: callID, Ext: caller.Ext, UserID: caller.UserID,
		Initiator: true, State: LegRinging, Peer: ShownNumber(cr.route.Dialed)}}
}

// answeredLegs lists the extension legs of an answered call, whose legs'
// dialogs have Call-IDs ids. Leg B is shown the caller's name while the
// caller is on leg A: no leg was replaced and leg A's party is the
// route's caller.
func (cr *callRecord) answeredLegs(ids [2]string, legReplaced bool) []LegEvent {
	callerName := ""
	if !legReplaced && cr.Parties[0].Num == cr.route.From {
		callerName = cr.route.FromName
	}
	var live []LegEvent
	for i, id := range ids {
		p := cr.Parties[i]
		if p.Ext == "" || id == "" {
			continue
		}
		other := cr.Parties[1-i]
		name := ""
		if i == 1 {
			name = callerName
		}
		live = append(live, LegEvent{LegID: id, Ext: p.Ext, UserID: p.UserID,
			Initiator: i == cr.CallerLeg, State: LegAnswered, Peer: ShownNumber(other.Num),
			PeerName: shownName(name)})
	}
	return live
}

// appendRinging adds the forks to extensions that still ring.
func appendRinging(live []LegEvent, forks []*dial.Fork) []LegEvent {
	for _, f := range forks {
		if f.Target.Ext == "" || f.Final != nil || f.Cancelled || f.Tx == nil {
			continue
		}
		from := f.Req.From()
		live = append(live, LegEvent{LegID: f.Req.CallID().Value(), Ext: f.Target.Ext, UserID: f.Target.UserID,
			State: LegRinging, Peer: ShownNumber(from.Address.User), PeerName: shownName(from.DisplayName)})
	}
	return live
}

// ShownNumber is a number as a phone may show it: "" when withheld.
func ShownNumber(num string) string {
	if num == "anonymous" {
		return ""
	}
	return num
}

// shownName is a display name as a phone may show it: "" when withheld.
func shownName(name string) string {
	if name == "Anonymous" {
		return ""
	}
	return name
}
