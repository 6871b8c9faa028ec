package sip

import (
	"log/slog"

	"github.com/emiago/sipgo/sip"
)

// callerTx is the caller's side of a call: leg A's INVITE server
// transaction until its final response. It holds the INVITE, what the
// caller heard before the answer (ringing, early media), whether the final
// response went, and the channel that lets the INVITE's handler return;
// it knows nothing of leg B. The dialog that the caller's 2xx sets up is
// the bridge's leg A (leg[0]).
//
// It is the call's part, embedded in it so that the features' answers
// (voicemail, a menu, a queue, a pickup) reach aReq and aTx as before.
// Only the call's actor touches it; the INVITE's handler only waits on
// aFinal, which the actor closes.
type callerTx struct {
	aReq      *sip.Request // the caller's INVITE with our To-tag
	aTx       sip.ServerTransaction
	aFinal    chan struct{} // closed once onInvite may return
	aAnswered bool          // a final response went to the caller (or sipgo's 487)
	heard     progress      // the provisional responses that went
	aWarning  string        // a Warning header for our final error response to A

	userAgent  string
	contactFor func(dest, transport string) sip.ContactHeader
	log        *slog.Logger
}

// progress is what the caller heard before a final response.
type progress uint8

const (
	heardNothing progress = iota
	heardRinging          // 180 went
	heardEarly            // 183 with the early media of a fork went
)

// respondA sends a response to the caller's INVITE; a final one only once.
func (cs *callerTx) respondA(code int, reason string, body []byte) {
	if cs.aAnswered {
		return
	}
	res := sip.NewResponseFromRequest(cs.aReq, code, reason, body)
	res.AppendHeader(sip.NewHeader("Server", cs.userAgent))
	if cs.aWarning != "" && code >= 300 {
		res.AppendHeader(sip.NewHeader("Warning", cs.aWarning))
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ct := cs.contactFor(cs.aReq.Source(), cs.aReq.Transport())
		res.AppendHeader(&ct)
	}
	if code >= 200 {
		cs.aAnswered = true
	}
	if err := cs.aTx.Respond(res); err != nil {
		cs.log.Debug("response to caller not sent", "status", code, "err", err)
	}
}

// ringing tells the caller the call rings (180), once.
func (cs *callerTx) ringing() {
	if cs.heard == heardNothing {
		cs.heard = heardRinging
		cs.respondA(180, "Ringing", nil)
	}
}

// earlyMedia gives the caller a fork's early media (183 with answer, our
// SDP toward the relay).
func (cs *callerTx) earlyMedia(answer []byte) {
	cs.heard = heardEarly
	cs.respondA(183, "Session Progress", answer)
}

// earlyOver forgets the early media that went: a later fork may send its
// own.
func (cs *callerTx) earlyOver() {
	if cs.heard == heardEarly {
		cs.heard = heardRinging
	}
}

// closeAFinal lets the INVITE's handler return.
func (cs *callerTx) closeAFinal() {
	select {
	case <-cs.aFinal:
	default:
		close(cs.aFinal)
	}
}

// inEarlyDialog reports whether req names the caller's early dialog: the
// Call-ID and From tag of the INVITE, and the To tag of our provisional
// responses.
func (cs *callerTx) inEarlyDialog(req *sip.Request) bool {
	return req.CallID().Value() == cs.aReq.CallID().Value() && tag(req.From().Params) == tag(cs.aReq.From().Params) &&
		tag(req.To().Params) == tag(cs.aReq.To().Params)
}
