package call

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// The end of a call: hangups from either side or ours, the BYEs they
// send, and the teardown that releases everything and writes the CDR.

// Hangup ends the call from our side: BYE to both answered legs, or the
// end of ringing.
func (c *Call) Hangup(by, why string) {
	switch c.State {
	case StRinging:
		c.EndRinging(503, "Service Unavailable", directory.Failed, by)
		c.CDR.Reason = why
	case StAnswered:
		c.CDR.HangupBy, c.CDR.Reason = by, why
		c.endAnswered(-1)
	}
}

// endAnswered ends an answered call: BYE to each leg but left (0: A, 1:
// B, -1: none), which hung up, and but a leg a room ended itself. A late
// offer call ending before the caller's answer failed: it never had
// media.
func (c *Call) endAnswered(left int) {
	c.State = StEnded
	if c.NeedAnswer {
		c.NeedAnswer = false
		c.callRecord.noMedia()
	}
	gone := c.Rooms.ending(-1)
	if gone != 0 && left != 0 {
		c.ByeA()
	}
	if gone != 1 && left != 1 {
		c.ByeB()
	}
}

func (c *Call) ByeA() {
	c.byeAfterAck(true, c.Legs[0].Bye())
}

func (c *Call) ByeB() {
	if f := c.Rooms.farEnd(); f != nil { // leg B is a room's, without a dialog
		f.EndFarEnd()
		return
	}
	if !c.BAcked { // late offer: its 2xx needs an ACK with an answer first
		c.ackB(c.RefusingAnswer(c.BOffer))
	}
	c.byeAfterAck(false, c.Legs[1].Bye())
}

func (c *Call) onBye(ev *ReqEvent) {
	res := sip.NewResponseFromRequest(ev.Req, 200, "OK", nil)
	switch {
	case c.State == StAnswered:
		c.Core.Responder.Send(ev.Tx, res)
		close(ev.Done)
		c.DropPending(ev.FromA)
		c.byeFrom(ev.FromA)
		c.endAnswered(leg.Index(ev.FromA))
		c.Log.Info("call ended", "by", c.CDR.HangupBy)
	case c.State == StRinging && ev.FromA:
		c.Core.Responder.Send(ev.Tx, res)
		close(ev.Done)
		c.RespondA(487, "Request Terminated", nil)
		c.EndRinging(0, "", directory.Cancelled, "caller")
	default:
		c.methods.refuse(ev, 481, "Call/Transaction Does Not Exist")
	}
}

// teardown releases everything the call holds and writes its CDR row.
func (c *Call) teardown() {
	for _, ev := range c.Mailbox.drain() {
		switch r := ev.(type) {
		case *ReqEvent:
			c.methods.refuse(r, 481, "Call/Transaction Does Not Exist")
		case EndedEvent:
			r.CallOver(c)
		}
	}
	c.DropReinvite()
	c.State = StEnded
	c.syncLegs()
	c.end(500, "Server Internal Error") // unless a final response went
	dial.Terminate(c.Ring.Forks, c.XForks, c.Rooms.AllForks())
	c.Relay.Close()
	c.reqCancel()
	c.releaseCancel()
	c.awaitByes()
	c.WG.Wait()
	c.Core.remove(c)
	c.CDR.EndedAt = time.Now().UTC()
	c.Core.Taps.closed(c)
	c.WriteCDR()
	c.Log.Info("call over", append([]any{"disposition", c.CDR.Disposition, "by", c.CDR.HangupBy}, c.RTPCounts()...)...)
}
