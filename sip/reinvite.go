package sip

import "github.com/emiago/sipgo/sip"

// Re-INVITEs inside an answered call (hold, resume, a codec change, a
// session refresh): one from a leg goes to the other leg with its SDP
// pointed at the relay, and its answer comes back the same way (the
// bridge's passOffer and passAnswer); one without SDP is answered by us
// alone with the SDP that leg already has. The call keeps the
// transactions: it refuses a re-INVITE it cannot pass now (glare, a
// room's gate), sends ours and answers the leg's.

// reinvite is a re-INVITE from one leg, passed to the other.
type reinvite struct {
	ev *reqEvent
}

// onReinvite passes a re-INVITE (hold, resume, codec change) to the other
// leg with its SDP pointed at the relay.
func (c *call) onReinvite(ev *reqEvent) {
	reject := func(code int, reason string) {
		c.b.s.respond(ev.tx, ev.req, code, reason)
		close(ev.done)
	}
	if c.state != stAnswered {
		reject(481, "Call/Transaction Does Not Exist")
		return
	}
	// A new INVITE from a leg means it sent the ACK of our last 2xx, even
	// if sipgo hands us the INVITE first.
	c.onAck(&ackEvent{req: ev.req, fromA: ev.fromA, before: true})
	if c.state != stAnswered { // it ended the call (a late offer not answered)
		reject(481, "Call/Transaction Does Not Exist")
		return
	}
	if c.reinv != nil || c.hasPending() || c.unhold {
		reject(491, "Request Pending") // glare (RFC 3261 §14.2)
		return
	}
	if code, reason := c.rooms.refuseReinvite(false); code != 0 {
		reject(code, reason)
		return
	}
	if len(ev.req.Body()) == 0 {
		c.reofferLocally(ev)
		return
	}
	if code, reason := c.rooms.refuseReinvite(true); code != 0 {
		reject(code, reason)
		return
	}
	req, err := c.passOffer(ev.fromA, ev.req.Body())
	if err != nil {
		reject(488, "Not Acceptable Here")
		return
	}
	c.reinv = &reinvite{ev: ev}
	c.wg.Go(func() {
		res, err := c.b.sendAndWait(c.reqCtx, req)
		c.post(reinviteResult{res: res, err: err})
	})
}

// reofferLocally answers a re-INVITE without SDP (a session refresh, or a
// resume asking for a new offer) without involving the other leg: our 2xx
// offers the SDP that leg already has from us, unchanged (RFC 3264 §8),
// and the answer in its ACK updates only that leg's media.
func (c *call) reofferLocally(ev *reqEvent) {
	in := &c.leg[legIndex(ev.fromA)]
	offer, contact := in.sdp, in.dlg.contact
	if offer == nil {
		c.b.s.respond(ev.tx, ev.req, 488, "Not Acceptable Here")
		close(ev.done)
		return
	}
	ok := c.okResponse(ev.req, offer, contact)
	if err := ev.tx.Respond(ok); err != nil {
		close(ev.done)
		return
	}
	c.awaitAck(ev.req, pending2xx{fromA: ev.fromA, tx: ev.tx, res: ok, done: ev.done, offer: true})
}

func (c *call) onReinviteResult(r reinviteResult) {
	ri := c.reinv
	c.reinv = nil
	if ri == nil {
		return
	}
	ev := ri.ev
	if r.err != nil || c.state != stAnswered {
		c.b.s.respond(ev.tx, ev.req, 500, "Server Internal Error")
		close(ev.done)
		return
	}
	res := r.res
	if !res.IsSuccess() {
		out := sip.NewResponseFromRequest(ev.req, res.StatusCode, res.Reason, nil)
		c.b.s.send(ev.tx, out)
		close(ev.done)
		return
	}
	// ACK the 2xx: same CSeq as the re-INVITE.
	ack := c.leg[legIndex(!ev.fromA)].dlg.request(sip.ACK)
	if err := c.b.s.client.WriteRequest(ack); err != nil {
		c.log.Debug("ack not sent", "err", err)
	}
	body := c.passAnswer(ev.fromA, ev.req.Body(), res.Body())
	ok := c.okResponse(ev.req, body, c.leg[legIndex(ev.fromA)].dlg.contact)
	if err := ev.tx.Respond(ok); err != nil {
		close(ev.done)
		return
	}
	c.awaitAck(ev.req, pending2xx{fromA: ev.fromA, tx: ev.tx, res: ok, done: ev.done})
}
