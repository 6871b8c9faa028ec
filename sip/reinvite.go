package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Re-INVITEs inside an answered call (hold, resume, a codec change, a
// session refresh), and ours: the bridge's transactions on its legs. One
// from a leg goes to the other leg with its SDP pointed at the relay, and
// its answer comes back the same way (passOffer and passAnswer); one
// without SDP is answered by us alone with the SDP that leg already has.
// The call decides whether a re-INVITE may pass now (onReinvite: glare, a
// room's gate) and hands it to the bridge, which sends ours and answers
// the leg's. When a leg changes hands (legmove.go), the bridge takes the
// party that stayed off hold (unholdTransferee) and has the leg's relay
// source latch again (relatch).

// reinvite is a re-INVITE from one leg, passed to the other.
type reinvite struct {
	ev *reqEvent
}

// legTx is what the bridge's transactions on its legs need of the call,
// handed to it as functions: the bridge knows nothing of the call.
type legTx struct {
	// send sends req off the call's actor, and posts what done makes of
	// its result to the actor.
	send func(req *sip.Request, done func(res *sip.Response, err error) any)
	// ack sends the ACK of a 2xx to our re-INVITE.
	ack func(ack *sip.Request) error
	// ok is our 2xx to a leg's INVITE, and await keeps it resent until its
	// ACK comes (pending.go).
	ok    func(req *sip.Request, body []byte, contact sip.ContactHeader) *sip.Response
	await func(req *sip.Request, p pending2xx)
}

// onReinvite passes a re-INVITE (hold, resume, codec change) to the other
// leg with its SDP pointed at the relay, unless the call refuses it now.
func (c *call) onReinvite(ev *reqEvent) {
	if c.state == stAnswered {
		// A new INVITE from a leg means it sent the ACK of our last 2xx,
		// even if sipgo hands us the INVITE first.
		c.onAck(&ackEvent{req: ev.req, fromA: ev.fromA, before: true})
	}
	code, reason := 0, ""
	switch {
	case c.state != stAnswered: // (or the ACK ended it: a late offer not answered)
		code, reason = 481, "Call/Transaction Does Not Exist"
	case c.transacting() || c.hasPending():
		code, reason = 491, "Request Pending" // glare (RFC 3261 §14.2)
	default:
		code, reason = c.rooms.refuseReinvite(len(ev.req.Body()) > 0)
	}
	if code != 0 {
		c.methods.refuse(ev, code, reason)
		return
	}
	c.bridge.reinvite(ev)
}

// transacting reports whether the bridge's re-INVITE toward a leg is out:
// ours passing a leg's on, or taking a party off hold.
func (br *bridge) transacting() bool { return br.reinv != nil || br.unhold }

// reinvite passes the re-INVITE ev from a leg to the other leg, or
// answers one without SDP itself.
func (br *bridge) reinvite(ev *reqEvent) {
	if len(ev.req.Body()) == 0 {
		br.reofferLocally(ev)
		return
	}
	req, err := br.passOffer(ev.fromA, ev.req.Body())
	if err != nil {
		br.rp.respond(ev.tx, ev.req, 488, "Not Acceptable Here")
		close(ev.done)
		return
	}
	br.reinv = &reinvite{ev: ev}
	br.tx.send(req, func(res *sip.Response, err error) any { return reinviteResult{res: res, err: err} })
}

// reofferLocally answers a re-INVITE without SDP (a session refresh, or a
// resume asking for a new offer) without involving the other leg: our 2xx
// offers the SDP that leg already has from us, unchanged (RFC 3264 §8),
// and the answer in its ACK updates only that leg's media.
func (br *bridge) reofferLocally(ev *reqEvent) {
	in := &br.leg[legIndex(ev.fromA)]
	offer, contact := in.SDP, in.Dialog.Contact
	if offer == nil {
		br.rp.respond(ev.tx, ev.req, 488, "Not Acceptable Here")
		close(ev.done)
		return
	}
	ok := br.tx.ok(ev.req, offer, contact)
	if err := ev.tx.Respond(ok); err != nil {
		close(ev.done)
		return
	}
	br.tx.await(ev.req, pending2xx{fromA: ev.fromA, tx: ev.tx, res: ok, done: ev.done, offer: true})
}

// reinviteDone takes the other leg's response to the re-INVITE passed on,
// and answers the leg that sent it; live is false once the call is no
// longer answered.
func (br *bridge) reinviteDone(r reinviteResult, live bool) {
	ri := br.reinv
	br.reinv = nil
	if ri == nil {
		return
	}
	ev := ri.ev
	if r.err != nil || !live {
		br.rp.respond(ev.tx, ev.req, 500, "Server Internal Error")
		close(ev.done)
		return
	}
	res := r.res
	if !res.IsSuccess() {
		out := sip.NewResponseFromRequest(ev.req, res.StatusCode, res.Reason, nil)
		br.rp.send(ev.tx, out)
		close(ev.done)
		return
	}
	// ACK the 2xx: same CSeq as the re-INVITE.
	ack := br.leg[legIndex(!ev.fromA)].Dialog.Request(sip.ACK)
	if err := br.tx.ack(ack); err != nil {
		br.log.Debug("ack not sent", "err", err)
	}
	body := br.passAnswer(ev.fromA, ev.req.Body(), res.Body())
	ok := br.tx.ok(ev.req, body, br.leg[legIndex(ev.fromA)].Dialog.Contact)
	if err := ev.tx.Respond(ok); err != nil {
		close(ev.done)
		return
	}
	br.tx.await(ev.req, pending2xx{fromA: ev.fromA, tx: ev.tx, res: ok, done: ev.done})
}

// dropReinvite answers 500 to the re-INVITE passed on whose answer will
// not come: the call is over.
func (br *bridge) dropReinvite() {
	if ri := br.reinv; ri != nil {
		br.rp.respond(ri.ev.tx, ri.ev.req, 500, "Server Internal Error")
		close(ri.ev.done)
		br.reinv = nil
	}
}

// relatchEvent: the transferor has its BYE; the leg now the target's
// latches again if it latched onto the transferor.
type relatchEvent struct {
	toA       bool
	callID    string
	rtp, rtcp netip.AddrPort
}

// unholdResult is the answer to our re-INVITE taking the transferee off
// hold.
type unholdResult struct {
	toA bool
	res *sip.Response
	err error
}

// unholdTransferee takes the transferee off the hold the transferor put
// it on before the REFER: a re-INVITE with the target's SDP.
func (br *bridge) unholdTransferee(toA bool, answer []byte) {
	l := &br.leg[legIndex(toA)]
	_, m, err := sdpneg.Parse(l.SDP)
	if err != nil || !m.Hold {
		br.relay.SetHold(mediaLeg(toA), false)
		return
	}
	sd, _, err := sdpneg.Parse(answer)
	if err != nil {
		return
	}
	sdpneg.SendRecv(sd)
	sdpneg.WidenOffer(sd)
	body, err := sdpneg.LegSDP(sd, &l.Origin, br.mediaIP(l.Dialog.Dest), br.relay, mediaLeg(toA))
	if err != nil {
		return
	}
	req := l.Reinvite(body)
	br.unhold = true
	br.tx.send(req, func(res *sip.Response, err error) any { return unholdResult{toA: toA, res: res, err: err} })
}

// unholdDone takes the answer to unholdTransferee's re-INVITE; live is
// false once the call is no longer answered.
func (br *bridge) unholdDone(r unholdResult, live bool) {
	br.unhold = false
	if r.err != nil || r.res == nil || !live {
		return
	}
	if !r.res.IsSuccess() {
		br.log.Info("transferee not taken off hold", "status", r.res.StatusCode)
		return
	}
	if err := br.tx.ack(br.legDialog(r.toA).Request(sip.ACK)); err != nil {
		br.log.Debug("ack not sent", "err", err)
	}
	if _, m, err := sdpneg.Parse(r.res.Body()); err == nil {
		br.setLegCodec(mediaLeg(r.toA), sdpneg.FirstVoice(r.res.Body()))
		sdpneg.SetMedia(br.relay, mediaLeg(r.toA), m)
		br.relay.SetHold(mediaLeg(r.toA), m.Hold)
	}
}

// relatch unlatches a transferred leg whose relay source is not the
// target's SDP address, so that the target's next packet latches it.
func (br *bridge) relatch(ev relatchEvent) {
	if br.legDialog(ev.toA).CallID != ev.callID || !ev.rtp.IsValid() {
		return
	}
	leg := mediaLeg(ev.toA)
	if src := br.relay.Stats(leg).Source; !src.IsValid() || src == ev.rtp {
		return
	}
	br.relay.SetRemote(leg, netip.AddrPort{}, netip.AddrPort{})
	br.relay.SetRemote(leg, ev.rtp, ev.rtcp)
}

// legDialog returns the dialog of leg A or B.
func (br *bridge) legDialog(a bool) *leg.Dialog {
	return &br.leg[legIndex(a)].Dialog
}

// legNamed returns the leg whose dialog names reports it names (a
// Replaces header's).
func (br *bridge) legNamed(names func(*leg.Dialog) bool) (isA, ok bool) {
	switch {
	case names(&br.leg[0].Dialog):
		return true, true
	case names(&br.leg[1].Dialog):
		return false, true
	}
	return false, false
}

// The results of our re-INVITE taking a party off hold, and a relatch,
// run on the call they are posted to (a reinviteResult goes to
// bridge.reinviteDone from the call's handle).

func (ev unholdResult) handleOn(c *call) { c.bridge.unholdDone(ev, c.state == stAnswered) }
func (ev relatchEvent) handleOn(c *call) {
	if c.state == stAnswered {
		c.bridge.relatch(ev)
	}
}
