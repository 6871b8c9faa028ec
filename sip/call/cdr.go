package call

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

// CDRTimeout bounds the write of one call history row.
const CDRTimeout = 5 * time.Second

// CDRGather is how long a call history row waits for others to share its
// transaction (spool.Spool.Gather). The commit is most of what a row
// costs with SQLite: CPU per row written by SaveCalls, batches of 1, 3,
// 10 and 30 rows, was about 140, 70-80, 40-43 and 25-27 µs. At 200 calls
// a second, 10 ms gathered 2 or 3 rows a commit; 50 ms gathers about 10.
// Only the call's own goroutine waits, after the call is over (it has
// left the call table); its row reaches the history 50 ms later at most.
const CDRGather = 50 * time.Millisecond

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
	CDR       directory.Call
	Parties   [2]Party // who is on leg A and leg B, once answered
	CallerLeg int      // the leg of the CDR row's caller (0: A)
	// SharedParties is a copy of parties for other goroutines (monitoring): nil
	// until the call is answered.
	SharedParties atomic.Pointer[[2]Party]
	// Shown is who the call is between, for ActiveCalls: published
	// whenever it changes (routed, forwarded, transferred).
	Shown atomic.Pointer[ActiveView]
	// lamps is what the leg observer was told (legstates.go).
	lamps LegStates
	route *route.Route // the route whose forwards the row notes (fillCDR)

	core  *Core      // the history spool, the counters, our node
	hooks *callHooks // hooks.ended hears each row written
	log   *slog.Logger
}

// Party is who is on one leg of an answered call.
type Party struct {
	UserID int64
	Num    string // extension or number
	Ext    string // "" outside the PBX (trunk)
}

// CDRRow is the call's history row as it stands, with the defaults a row
// needs and its key, made on the first write (a transfer starts a new row).
func (cr *callRecord) CDRRow() directory.Call {
	if cr.CDR.Key == "" {
		cr.CDR.Key = NewRowKey()
	}
	row := cr.CDR
	if row.Disposition == "" {
		row.Disposition = directory.Failed
	}
	if row.Direction == "" {
		row.Direction = directory.Internal
	}
	cr.route.NoteForwards(&row)
	return row
}

// WriteCDR stores the call's history row, or ends the one stored when a
// recorded call was answered; while the store does not answer, the spool
// holds the write. A row the store refuses is logged with what it held, so
// that an operator can find the call.
func (cr *callRecord) WriteCDR() {
	row := cr.CDRRow()
	if row.EndedAt.IsZero() {
		row.EndedAt = time.Now().UTC()
	}
	cr.save(row)
}

// WriteRow stores a history row other than the call's own (a transfer
// attempt), as writeCDR does.
func (cr *callRecord) WriteRow(row directory.Call) {
	row.Key = NewRowKey()
	cr.save(row)
}

// save stores row, counts it and tells hooks.ended.
func (cr *callRecord) save(row directory.Call) {
	if err := cr.core.History.SaveCall(context.Background(), &row); err != nil {
		cr.log.Error("call history row not written", "err", err, "from", row.From, "to", row.To,
			"disposition", row.Disposition)
	}
	cr.core.Counters.Call(row)
	if h := cr.hooks.Ended; h != nil {
		h(row)
	}
}

// Routed records rt, the call's route now (routed or forwarded): the row
// takes what it knows (fillCDR) and ActiveCalls shows its parties
// (showRoute).
func (cr *callRecord) Routed(rt *route.Route) {
	cr.fillCDR(rt)
	cr.showRoute(rt)
}

// fillCDR copies what rt, the call's route now, knows into the CDR row.
func (cr *callRecord) fillCDR(rt *route.Route) {
	cr.route = rt
	if rt == nil {
		return
	}
	cr.CDR.Direction = rt.Dir
	cr.CDR.Dialed = rt.Dialed
	cr.CDR.CallerID = rt.CallerID
	cr.CDR.CalleeID = rt.CalleeID
	cr.CDR.GroupID = rt.GroupID
	cr.CDR.From = rt.From
	cr.CDR.To = rt.To
	if cr.CDR.To == "" {
		cr.CDR.To = rt.Dialed
	}
}

// SetParty records who is on a leg (0: A, 1: B) now, and publishes the
// parties for other goroutines.
func (cr *callRecord) SetParty(leg int, p Party) {
	cr.Parties[leg] = p
	legs := cr.Parties
	cr.SharedParties.Store(&legs)
}

// joinCDR ends the call's row and starts one between the party that stayed
// on the leg other than toA, whose dialog is stayID, and who, the party on
// leg toA now.
func (cr *callRecord) joinCDR(stayID string, started time.Time, who Party, dialed, endReason, reason string, toA bool) {
	now := time.Now().UTC()
	cr.CDR.EndedAt = now
	cr.CDR.HangupBy = "transfer"
	cr.CDR.Reason = endReason
	cr.WriteCDR()
	stay := cr.Parties[leg.Index(!toA)]
	row := directory.Call{SIPCallID: stayID, CallerID: stay.UserID, From: stay.Num,
		CalleeID: who.UserID, To: who.Num, Dialed: dialed, StartedAt: started, AnsweredAt: now,
		Disposition: directory.Answered, Reason: reason, Node: cr.core.Node}
	row.Direction = RowDirection(who.Ext == "", stay.Ext == "")
	cr.CDR = row
	cr.Show(row)
	cr.CallerLeg = leg.Index(!toA)
}

// SetParties records who answered (on t) and who called on rt, the call's
// route: callerExt is the caller's extension, "" from a trunk.
func (cr *callRecord) SetParties(rt *route.Route, callerExt string, t route.Target) {
	num := t.Ext
	if num == "" {
		num = rt.To
	}
	cr.SetParty(0, Party{UserID: rt.CallerID, Num: rt.From, Ext: callerExt})
	cr.SetParty(1, Party{UserID: t.UserID, Num: num, Ext: t.Ext})
}

// answeredBy records that t answered the call on rt (setParties).
func (cr *callRecord) answeredBy(rt *route.Route, callerExt string, t route.Target) {
	cr.CDR.AnsweredAt = time.Now().UTC()
	cr.CDR.Disposition = directory.Answered
	if t.UserID != 0 {
		cr.CDR.CalleeID = t.UserID
	}
	if t.Ext != "" {
		cr.CDR.To = t.Ext
	}
	cr.SetParties(rt, callerExt, t)
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
	cr.CDR.Disposition = r.Disp
	cr.CDR.Reason = r.Why
	cr.CDR.HangupBy = "system"
	cr.CDR.EndedAt = time.Now().UTC()
	cr.WriteCDR()
}

// byeFrom records who hung up: the party on leg A (fromA) or B.
func (cr *callRecord) byeFrom(fromA bool) {
	cr.CDR.HangupBy = "callee"
	if (cr.CallerLeg == 0) == fromA {
		cr.CDR.HangupBy = "caller"
	}
}

// noMedia marks the row of a call that ends without media (a late offer
// never answered) as failed.
func (cr *callRecord) noMedia() {
	cr.CDR.Disposition, cr.CDR.AnsweredAt = directory.Failed, time.Time{}
	if cr.CDR.Reason == "" {
		cr.CDR.Reason = "ended before the sdp answer"
	}
}

// RowDirection is the direction of a call row between a caller and a
// callee, either of whom may be outside the PBX (reached through a trunk).
func RowDirection(calleeOutside, callerOutside bool) directory.Direction {
	switch {
	case calleeOutside:
		return directory.Outbound
	case callerOutside:
		return directory.Inbound
	}
	return directory.Internal
}

// NewRowKey returns a key for a new call history row.
func NewRowKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
