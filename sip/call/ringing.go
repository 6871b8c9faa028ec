package call

import (
	"strconv"
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
func (c *Call) onResponse(f *dial.Fork, tx sip.ClientTransaction, res *sip.Response) {
	switch c.forkResponse(f, tx, res, c.State == StRinging) {
	case forkRings:
		c.ringsWith(res.Body(), c.Late, c.AnswerSDP)
	case forkWon:
		c.answerWith(f, res)
	case forksAllFailed:
		c.forksFailed()
	}
}

// ForkFailed takes a fork of the call's dialer whose transaction ended
// without an answer.
func (c *Call) ForkFailed(*dial.Fork) {
	if c.State == StRinging && c.Ring.AllFailed() {
		c.forksFailed()
	}
}

// forksFailed runs when every fork has its failure: the call goes to the
// next trunk when the last one failed over (calleeTx.failOver), otherwise
// the caller gets the best failure (calleeTx.failure).
func (c *Call) forksFailed() {
	if c.failOver(c.Rt, c.earlyOver) {
		c.Legs[1].SDP = c.Ring.Offer
		return
	}
	code, reason, disp, warning := c.failure(c.Late, c.Core.Realm(), c.AReq.Body())
	c.warn(warning)
	c.EndRinging(code, reason, disp, "callee")
	c.CDR.Reason = strconv.Itoa(code) + " " + reason
}

// EndRinging ends a call that was not answered: the forks still ringing
// are cancelled and the caller gets code (0: already answered by sipgo).
func (c *Call) EndRinging(code int, reason string, disp directory.Disposition, by string) {
	if c.Core.RingFailed(c, code, reason, disp, by) {
		return
	}
	c.State = StEnded
	c.CDR.Disposition, c.CDR.HangupBy = disp, by
	c.Ring.CancelAll(nil)
	c.Linger = time.Now().Add(leg.ByeTimeout)
	c.end(code, reason)
}

// RingDuration is how long the call's targets ring (Route.RingFor).
func (c *Call) RingDuration() time.Duration { return c.Rt.RingFor(c.Core.Config.RingTime) }
