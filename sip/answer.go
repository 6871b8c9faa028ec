package sip

import (
	"errors"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Answering a call: the fork that answered becomes leg B, its SDP is
// turned into the caller's answer on the relay, and the ACK of its 2xx
// goes (with the caller's answer, when the caller's INVITE had no offer).

// answerSDP turns an answer from the B side into the answer for the
// caller, pointing the relay at the callee (bridge.answerA). Late, it
// turns the callee's offer into the offer for the caller the same way.
func (c *call) answerSDP(body []byte) ([]byte, error) {
	return c.Bridge.AnswerA(body, c.aReq.Body(), c.late, c.aReq.Source())
}

// answerWith connects the caller to the fork that answered.
func (c *call) answerWith(f *dial.Fork, res *sip.Response) {
	c.answered(f)
	c.JoinB(dial.ForkDialog(f, res))
	if !c.late {
		c.ackB(nil)
	}
	body := res.Body()
	if len(body) == 0 {
		body = c.early
	}
	sdpBody, err := c.answerSDP(body)
	if err != nil {
		r, warning := badAnswer(err, c.late, c.b.Realm())
		c.state = stEnded
		c.cdr.Disposition, c.cdr.Reason, c.cdr.HangupBy = r.Disp, r.Why, "system"
		c.byeB()
		c.warn(warning)
		c.respondA(r.Code, r.Reason, nil)
		return
	}
	if c.late {
		c.bOffer, c.needAnswer = body, true
	}
	c.state = stAnswered
	c.Relay.Arm()
	c.answeredBy(c.rt, c.callerExt(), f.Target)
	c.Legs[0].Dialog = c.b.uasDialog(c.aReq)
	ok200 := c.okResponse(c.aReq, sdpBody, c.Legs[0].Dialog.Contact)
	if !c.late { // late, the taps join with the answer
		c.b.taps.joined(c)
	}
	if err := c.answer(ok200); err != nil {
		c.log.Info("200 to caller not sent", "err", err)
		c.hangup("system", "caller unreachable")
		c.closeAFinal()
		return
	}
	c.log.Info("call answered", "dest", f.Target.Dest, "ext", f.Target.Ext, "late_offer", c.late)
	c.awaitAck(c.aReq, pending2xx{fromA: true, tx: c.aTx, res: ok200, done: c.aFinal, initial: true, offer: c.late})
	if !c.late {
		c.b.taps.answered(c)
	}
}

// badAnswer is what the caller gets, and the CDR row says, when the SDP
// of the callee's 2xx (late: its offer) cannot go to the caller (err,
// from bridge.answerA), with the Warning of our response, if any.
func badAnswer(err error, late bool, realm string) (r route.Refusal, warning string) {
	var nc *sdpneg.NoCommonCodec
	switch {
	case late:
		return route.Refusal{Code: 502, Reason: "Bad Gateway", Disp: directory.Failed, Why: "bad sdp offer from callee"}, ""
	case errors.As(err, &nc):
		return route.Refusal{Code: 488, Reason: "Not Acceptable Here", Disp: directory.Failed, Why: nc.Error()}, nc.Warning(realm)
	}
	return route.Refusal{Code: 488, Reason: "Not Acceptable Here", Disp: directory.Failed, Why: "bad sdp answer"}, ""
}

// lateAnswer takes the caller's answer from the ACK of our 200 of a late
// offer call (bridge.lateAnswer): the answer goes to the callee in the ACK
// of its 2xx. No answer, or one that does not parse, ends the call.
func (c *call) lateAnswer(body []byte) {
	out, why := c.Bridge.LateAnswer(body, c.bOffer, c.rooms.takeAnswer)
	switch {
	case why != "":
		c.hangup("system", why)
	case out != nil: // nil: leg B is a room's, without a dialog to ACK
		c.needAnswer = false
		c.b.taps.joined(c)
		c.ackB(out)
		c.b.taps.answered(c)
	}
}

// ackB sends the ACK for the B side's 2xx, with body (the answer to a
// late offer) unless nil.
func (c *call) ackB(body []byte) { c.calleeTx.ack(&c.Legs[1].Dialog, body) }

// answerEmptyLeg puts fork f, whose 2xx res answered an offer on the relay
// port of leg (0: A, 1: B), on that leg, which nobody was on: it ACKs the
// 2xx, points the leg's media at the phone and makes f's dialog the
// leg's. A 2xx without a usable SDP gets a BYE, and false. Park's
// ring-back and call queues (queuecall.go) use it.
func (c *call) answerEmptyLeg(leg int, f *dial.Fork, res *sip.Response, org sdpneg.Origin) bool {
	d := dial.ForkDialog(f, res)
	c.ackFork(f, &d)
	if err := c.Seat(leg, d, res.Body(), f.Req.Body(), org); err != nil {
		c.log.Info("bad sdp from the phone that answered", "err", err)
		c.byeOffActor(d.Request(sip.BYE))
		return false
	}
	if leg == 1 {
		c.bTarget = new(f.Target)
	}
	return true
}
