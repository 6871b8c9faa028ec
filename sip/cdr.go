package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
)

// cdrTimeout bounds the write of one call history row.
const cdrTimeout = 5 * time.Second

// callRecord is the story of a call as the PBX tells it: its history
// (CDR) row as it stands, who is on each leg, what the dashboard was shown
// (active.go) and what the busy lamps were told (legstates.go). The call
// and the features write it (a transfer or a park starts a new row with
// joinCDR); it knows nothing of dialogs or media.
//
// It is the call's part, embedded in it so that the features reach the
// row and the parties as before. Only the call's actor touches it, except
// legs and shown, which it publishes whole for other goroutines.
type callRecord struct {
	cdr       directory.Call
	parties   [2]party // who is on leg A and leg B, once answered
	callerLeg int      // the leg of the CDR row's caller (0: A)
	// legs is a copy of parties for other goroutines (monitoring): nil
	// until the call is answered.
	legs atomic.Pointer[[2]party]
	// shown is who the call is between, for ActiveCalls: published
	// whenever it changes (routed, forwarded, transferred).
	shown atomic.Pointer[activeView]
	// lamps is what the leg observer was told (legstates.go).
	lamps legStates
	route *route.Route // the route whose forwards the row notes (fillCDR)

	core  *core      // the history spool, the counters, our node
	hooks *callHooks // hooks.ended hears each row written
	log   *slog.Logger
}

// party is who is on one leg of an answered call.
type party struct {
	userID int64
	num    string // extension or number
	ext    string // "" outside the PBX (trunk)
}

// cdrRow is the call's history row as it stands, with the defaults a row
// needs and its key, made on the first write (a transfer starts a new row).
func (cr *callRecord) cdrRow() directory.Call {
	if cr.cdr.Key == "" {
		cr.cdr.Key = newRowKey()
	}
	row := cr.cdr
	if row.Disposition == "" {
		row.Disposition = directory.Failed
	}
	if row.Direction == "" {
		row.Direction = directory.Internal
	}
	cr.route.NoteForwards(&row)
	return row
}

// writeCDR stores the call's history row, or ends the one stored when a
// recorded call was answered; while the store does not answer, the spool
// holds the write. A row the store refuses is logged with what it held, so
// that an operator can find the call.
func (cr *callRecord) writeCDR() {
	row := cr.cdrRow()
	if row.EndedAt.IsZero() {
		row.EndedAt = time.Now().UTC()
	}
	cr.save(row)
}

// writeRow stores a history row other than the call's own (a transfer
// attempt), as writeCDR does.
func (cr *callRecord) writeRow(row directory.Call) {
	row.Key = newRowKey()
	cr.save(row)
}

// save stores row, counts it and tells hooks.ended.
func (cr *callRecord) save(row directory.Call) {
	if err := cr.core.History.SaveCall(context.Background(), &row); err != nil {
		cr.log.Error("call history row not written", "err", err, "from", row.From, "to", row.To,
			"disposition", row.Disposition)
	}
	cr.core.Counters.call(row)
	if h := cr.hooks.ended; h != nil {
		h(row)
	}
}

// routed records rt, the call's route now (routed or forwarded): the row
// takes what it knows (fillCDR) and ActiveCalls shows its parties
// (showRoute).
func (cr *callRecord) routed(rt *route.Route) {
	cr.fillCDR(rt)
	cr.showRoute(rt)
}

// fillCDR copies what rt, the call's route now, knows into the CDR row.
func (cr *callRecord) fillCDR(rt *route.Route) {
	cr.route = rt
	if rt == nil {
		return
	}
	cr.cdr.Direction = rt.Dir
	cr.cdr.Dialed = rt.Dialed
	cr.cdr.CallerID = rt.CallerID
	cr.cdr.CalleeID = rt.CalleeID
	cr.cdr.GroupID = rt.GroupID
	cr.cdr.From = rt.From
	cr.cdr.To = rt.To
	if cr.cdr.To == "" {
		cr.cdr.To = rt.Dialed
	}
}

// setParty records who is on a leg (0: A, 1: B) now, and publishes the
// parties for other goroutines.
func (cr *callRecord) setParty(leg int, p party) {
	cr.parties[leg] = p
	legs := cr.parties
	cr.legs.Store(&legs)
}

// joinCDR ends the call's row and starts one between the party that stayed
// on the leg other than toA, whose dialog is stayID, and who, the party on
// leg toA now.
func (cr *callRecord) joinCDR(stayID string, started time.Time, who party, dialed, endReason, reason string, toA bool) {
	now := time.Now().UTC()
	cr.cdr.EndedAt = now
	cr.cdr.HangupBy = "transfer"
	cr.cdr.Reason = endReason
	cr.writeCDR()
	stay := cr.parties[leg.Index(!toA)]
	row := directory.Call{SIPCallID: stayID, CallerID: stay.userID, From: stay.num,
		CalleeID: who.userID, To: who.num, Dialed: dialed, StartedAt: started, AnsweredAt: now,
		Disposition: directory.Answered, Reason: reason, Node: cr.core.Node}
	row.Direction = rowDirection(who.ext == "", stay.ext == "")
	cr.cdr = row
	cr.show(row)
	cr.callerLeg = leg.Index(!toA)
}

// setParties records who answered (on t) and who called on rt, the call's
// route: callerExt is the caller's extension, "" from a trunk.
func (cr *callRecord) setParties(rt *route.Route, callerExt string, t route.Target) {
	num := t.Ext
	if num == "" {
		num = rt.To
	}
	cr.setParty(0, party{userID: rt.CallerID, num: rt.From, ext: callerExt})
	cr.setParty(1, party{userID: t.UserID, num: num, ext: t.Ext})
}

// answeredBy records that t answered the call on rt (setParties).
func (cr *callRecord) answeredBy(rt *route.Route, callerExt string, t route.Target) {
	cr.cdr.AnsweredAt = time.Now().UTC()
	cr.cdr.Disposition = directory.Answered
	if t.UserID != 0 {
		cr.cdr.CalleeID = t.UserID
	}
	if t.Ext != "" {
		cr.cdr.To = t.Ext
	}
	cr.setParties(rt, callerExt, t)
}

// logRefusal logs a call refused before it existed, before the caller
// hears of it: whoever reads the log on the refusal finds the line.
func (cr *callRecord) logRefusal(r *route.Refusal) {
	if r.Err != nil {
		cr.log.Warn("call refused", "code", r.Code, "why", r.Why, "err", r.Err)
	} else {
		cr.log.Info("call refused", "code", r.Code, "why", r.Why)
	}
}

// refused writes the row of a call refused before it existed.
func (cr *callRecord) refused(r *route.Refusal) {
	cr.cdr.Disposition = r.Disp
	cr.cdr.Reason = r.Why
	cr.cdr.HangupBy = "system"
	cr.cdr.EndedAt = time.Now().UTC()
	cr.writeCDR()
}

// byeFrom records who hung up: the party on leg A (fromA) or B.
func (cr *callRecord) byeFrom(fromA bool) {
	cr.cdr.HangupBy = "callee"
	if (cr.callerLeg == 0) == fromA {
		cr.cdr.HangupBy = "caller"
	}
}

// noMedia marks the row of a call that ends without media (a late offer
// never answered) as failed.
func (cr *callRecord) noMedia() {
	cr.cdr.Disposition, cr.cdr.AnsweredAt = directory.Failed, time.Time{}
	if cr.cdr.Reason == "" {
		cr.cdr.Reason = "ended before the sdp answer"
	}
}

// rowDirection is the direction of a call row between a caller and a
// callee, either of whom may be outside the PBX (reached through a trunk).
func rowDirection(calleeOutside, callerOutside bool) directory.Direction {
	switch {
	case calleeOutside:
		return directory.Outbound
	case callerOutside:
		return directory.Inbound
	}
	return directory.Internal
}

// newRowKey returns a key for a new call history row.
func newRowKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
