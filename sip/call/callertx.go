package call

import (
	"log/slog"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// callerTx is the caller's side of a call: leg A's INVITE server
// transaction until its final response. It holds the INVITE, what the
// caller heard before the answer (ringing, a fork's early media), whether
// the final response went, and the channel that lets the INVITE's handler
// return; it knows nothing of leg B. The dialog that the caller's 2xx sets up is
// the bridge's leg A (Legs[0]).
//
// It is the call's part, embedded in it so that the features' answers
// (voicemail, a menu, a queue, a pickup) reach aReq and aTx as before.
// Only the call's actor touches it; the INVITE's handler only waits on
// aFinal, which the actor closes.
type callerTx struct {
	AReq      *sip.Request // the caller's INVITE with our To-tag
	ATx       sip.ServerTransaction
	AFinal    chan struct{} // closed once onInvite may return
	AAnswered bool          // a final response went to the caller (or sipgo's 487)
	heard     progress      // the provisional responses that went
	// Early is the SDP of a fork's early media (late: a fork's offer in a
	// provisional response), the answer's when its 2xx has none.
	Early    []byte
	aWarning string // a Warning header for our final error response to A

	userAgent  string
	contactFor func(dest, transport string) sip.ContactHeader
	log        *slog.Logger
	// cancelled is what the INVITE's OnCancel hook calls, emptied as the
	// call ends (releaseCancel).
	cancelled *atomic.Pointer[func()]
}

// progress is what the caller heard before a final response.
type progress uint8

const (
	heardNothing progress = iota
	heardRinging          // 180 went
	heardEarly            // 183 with the early media of a fork went
)

// watchCancel has cancelled called (from sipgo's goroutine) when the
// caller's CANCEL comes: sipgo has already answered it 200 and the INVITE
// 487. A transaction already gone has had its final response.
//
// sipgo keeps an answered INVITE's transaction, and its hooks, for Timer
// L (64·T1, 32 s) after the 2xx: a hook that held the call kept every call
// ended in the last 32 s in memory, its INVITE, dialogs, relay and row
// (some 40 KB each: 6,400 calls at 200 a second), for the garbage collector
// to mark again and again. The hook holds the function through a pointer
// that the call empties as it ends.
func (cs *callerTx) watchCancel(cancelled func()) {
	hook := new(atomic.Pointer[func()])
	hook.Store(&cancelled)
	if !cs.ATx.OnCancel(func(*sip.Request) {
		if f := hook.Load(); f != nil {
			(*f)()
		}
	}) {
		cs.AAnswered = true
		return
	}
	cs.cancelled = hook
}

// releaseCancel lets go of what the INVITE's OnCancel hook holds of the
// call (watchCancel): a CANCEL after that finds the call over anyway.
func (cs *callerTx) releaseCancel() {
	if cs.cancelled != nil {
		cs.cancelled.Store(nil)
	}
}

// RespondA sends a response to the caller's INVITE; a final one only once.
func (cs *callerTx) RespondA(code int, reason string, body []byte) {
	if cs.AAnswered {
		return
	}
	res := sip.NewResponseFromRequest(cs.AReq, code, reason, body)
	res.AppendHeader(sip.NewHeader("Server", cs.userAgent))
	if cs.aWarning != "" && code >= 300 {
		res.AppendHeader(sip.NewHeader("Warning", cs.aWarning))
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ct := cs.contactFor(cs.AReq.Source(), cs.AReq.Transport())
		res.AppendHeader(&ct)
	}
	if code >= 200 {
		cs.AAnswered = true
	}
	if err := cs.ATx.Respond(res); err != nil {
		cs.log.Debug("response to caller not sent", "status", code, "err", err)
	}
}

// answer sends ok, our 2xx, to the caller: the final response.
func (cs *callerTx) answer(ok *sip.Response) error {
	cs.AAnswered = true
	return cs.ATx.Respond(ok)
}

// ringsWith takes a fork's provisional response with body, its SDP if
// any: the caller hears the fork's early media when toCaller makes it our
// SDP toward the relay and no early media went yet, and otherwise that
// the call rings. Late (the caller's INVITE had no offer), an offer in an
// unreliable provisional response can reach the caller only in our 200:
// it is kept for the answer.
func (cs *callerTx) ringsWith(body []byte, late bool, toCaller func([]byte) ([]byte, error)) {
	if len(body) > 0 && late {
		cs.Early = body
	} else if len(body) > 0 && cs.heard != heardEarly {
		if sdpBody, err := toCaller(body); err == nil {
			cs.Early = body
			cs.earlyMedia(sdpBody)
			return
		}
	}
	cs.ringing()
}

// ringing tells the caller the call rings (180), once.
func (cs *callerTx) ringing() {
	if cs.heard == heardNothing {
		cs.heard = heardRinging
		cs.RespondA(180, "Ringing", nil)
	}
}

// earlyMedia gives the caller a fork's early media (183 with answer, our
// SDP toward the relay).
func (cs *callerTx) earlyMedia(answer []byte) {
	cs.heard = heardEarly
	cs.RespondA(183, "Session Progress", answer)
}

// earlyOver forgets the early media of a fork that failed: a later fork
// may send its own.
func (cs *callerTx) earlyOver() {
	cs.Early = nil
	if cs.heard == heardEarly {
		cs.heard = heardRinging
	}
}

// warn has our final error response to the caller carry warning (a
// Warning header value), unless "".
func (cs *callerTx) warn(warning string) {
	if warning != "" {
		cs.aWarning = warning
	}
}

// end ends the caller's INVITE transaction: the caller gets code, unless 0
// (sipgo answered already) or a final response went, and the INVITE's
// handler returns.
func (cs *callerTx) end(code int, reason string) {
	if code != 0 {
		cs.RespondA(code, reason, nil)
	}
	cs.CloseAFinal()
}

// CloseAFinal lets the INVITE's handler return.
func (cs *callerTx) CloseAFinal() {
	select {
	case <-cs.AFinal:
	default:
		close(cs.AFinal)
	}
}
