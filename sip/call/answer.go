package call

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

// AnswerSDP turns an answer from the B side into the answer for the
// caller, pointing the relay at the callee (bridge.answerA). Late, it
// turns the callee's offer into the offer for the caller the same way.
func (c *Call) AnswerSDP(body []byte) ([]byte, error) {
	return c.Bridge.AnswerA(body, c.AReq.Body(), c.Late, c.AReq.Source())
}

// answerWith connects the caller to the fork that answered.
func (c *Call) answerWith(f *dial.Fork, res *sip.Response) {
	c.answered(f)
	c.JoinB(dial.ForkDialog(f, res))
	if !c.Late {
		c.ackB(nil)
	}
	body := res.Body()
	if len(body) == 0 {
		body = c.Early
	}
	sdpBody, err := c.AnswerSDP(body)
	if err != nil {
		r, warning := badAnswer(err, c.Late, c.Core.Realm())
		c.State = StEnded
		c.CDR.Disposition, c.CDR.Reason, c.CDR.HangupBy = r.Disp, r.Why, "system"
		c.ByeB()
		c.warn(warning)
		c.RespondA(r.Code, r.Reason, nil)
		return
	}
	if c.Late {
		c.BOffer, c.NeedAnswer = body, true
	}
	c.State = StAnswered
	c.Relay.Arm()
	c.answeredBy(c.Rt, c.CallerExt(), f.Target)
	c.Legs[0].Dialog = c.Core.UASDialog(c.AReq)
	ok200 := c.OKResponse(c.AReq, sdpBody, c.Legs[0].Dialog.Contact)
	if !c.Late { // late, the taps join with the answer
		c.Core.Taps.Joined(c)
	}
	if err := c.answer(ok200); err != nil {
		c.Log.Info("200 to caller not sent", "err", err)
		c.Hangup("system", "caller unreachable")
		c.CloseAFinal()
		return
	}
	c.answerDelay(f.Tx)
	c.Log.Info("call answered", "dest", f.Target.Dest, "ext", f.Target.Ext, "late_offer", c.Late)
	c.AwaitAck(c.AReq, Pending2xx{FromA: true, Tx: c.ATx, Res: ok200, Done: c.AFinal, Initial: true, Offer: c.Late})
	if !c.Late {
		c.Core.Taps.Answered(c)
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
func (c *Call) lateAnswer(body []byte) {
	out, why := c.Bridge.LateAnswer(body, c.BOffer, c.Rooms.TakeAnswer)
	switch {
	case why != "":
		c.Hangup("system", why)
	case out != nil: // nil: leg B is a room's, without a dialog to ACK
		c.NeedAnswer = false
		c.Core.Taps.Joined(c)
		c.ackB(out)
		c.Core.Taps.Answered(c)
	}
}

// ackB sends the ACK for the B side's 2xx, with body (the answer to a
// late offer) unless nil.
func (c *Call) ackB(body []byte) { c.calleeTx.ack(&c.Legs[1].Dialog, body) }

// AnswerEmptyLeg puts fork f, whose 2xx res answered an offer on the relay
// port of leg (0: A, 1: B), on that leg, which nobody was on: it ACKs the
// 2xx, points the leg's media at the phone and makes f's dialog the
// leg's. A 2xx without a usable SDP gets a BYE, and false. Park's
// ring-back and call queues (package sip) use it.
func (c *Call) AnswerEmptyLeg(leg int, f *dial.Fork, res *sip.Response, org sdpneg.Origin) bool {
	d := dial.ForkDialog(f, res)
	c.ackFork(f, &d)
	if err := c.Seat(leg, d, res.Body(), f.Req.Body(), org); err != nil {
		c.Log.Info("bad sdp from the phone that answered", "err", err)
		c.sendBye(d.Request(sip.BYE))
		return false
	}
	if leg == 1 {
		c.BTarget = new(f.Target)
	}
	return true
}
