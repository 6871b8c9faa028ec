package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// The call while it rings: the dialer's forks answer, fail over to the
// next trunk, or fail; the caller hears ringing (or early media) and, when
// nobody answers, the best failure.

// onResponse takes a response to one of the call's own forks (a
// feature's dialer takes its own forks' responses).
func (c *call) onResponse(f *dial.Fork, tx sip.ClientTransaction, res *sip.Response) {
	switch c.forkResponse(f, tx, res, c.state == stRinging) {
	case forkRings:
		c.ringsWith(res.Body(), c.late, c.answerSDP)
	case forkWon:
		c.answerWith(f, res)
	case forksAllFailed:
		c.forksFailed()
	}
}

// forkFailed takes a fork of the call's dialer whose transaction ended
// without an answer.
func (c *call) forkFailed(*dial.Fork) {
	if c.state == stRinging && c.ring.AllFailed() {
		c.forksFailed()
	}
}

// forksFailed runs when every fork has its failure: the call goes to the
// next trunk when the last one failed over (calleeTx.failOver), otherwise
// the caller gets the best failure (calleeTx.failure).
func (c *call) forksFailed() {
	if c.failOver(c.rt, c.earlyOver) {
		c.Legs[1].SDP = c.ring.Offer
		return
	}
	code, reason, disp, warning := c.failure(c.late, c.b.Realm(), c.aReq.Body())
	c.warn(warning)
	c.endRinging(code, reason, disp, "callee")
	c.cdr.Reason = itoa(code) + " " + reason
}

// endRinging ends a call that was not answered: the forks still ringing
// are cancelled and the caller gets code (0: already answered by sipgo).
func (c *call) endRinging(code int, reason string, disp directory.Disposition, by string) {
	if c.b.ringFailed(c, code, reason, disp, by) {
		return
	}
	c.state = stEnded
	c.cdr.Disposition, c.cdr.HangupBy = disp, by
	c.ring.CancelAll(nil)
	c.linger = time.Now().Add(leg.ByeTimeout)
	c.end(code, reason)
}

// ringDuration is how long the call's targets ring (Route.RingFor).
func (c *call) ringDuration() time.Duration { return c.rt.RingFor(c.b.cfg.RingTime) }
