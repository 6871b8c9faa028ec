package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// The end of a call: hangups from either side or ours, the BYEs they
// send, and the teardown that releases everything and writes the CDR.

// hangup ends the call from our side: BYE to both answered legs, or the
// end of ringing.
func (c *call) hangup(by, why string) {
	switch c.state {
	case stRinging:
		c.endRinging(503, "Service Unavailable", directory.Failed, by)
		c.cdr.Reason = why
	case stAnswered:
		c.cdr.HangupBy, c.cdr.Reason = by, why
		c.endAnswered(-1)
	}
}

// endAnswered ends an answered call: BYE to each leg but left (0: A, 1:
// B, -1: none), which hung up, and but a leg a room ended itself. A late
// offer call ending before the caller's answer failed: it never had
// media.
func (c *call) endAnswered(left int) {
	c.state = stEnded
	if c.needAnswer {
		c.needAnswer = false
		c.callRecord.noMedia()
	}
	gone := c.rooms.ending(-1)
	if gone != 0 && left != 0 {
		c.byeA()
	}
	if gone != 1 && left != 1 {
		c.byeB()
	}
}

func (c *call) byeA() {
	c.byeAfterAck(true, c.Legs[0].Bye())
}

func (c *call) byeB() {
	if f := c.rooms.farEnd(); f != nil { // leg B is a room's, without a dialog
		f.endFarEnd()
		return
	}
	if !c.bAcked { // late offer: its 2xx needs an ACK with an answer first
		c.ackB(c.RefusingAnswer(c.bOffer))
	}
	c.byeAfterAck(false, c.Legs[1].Bye())
}

func (c *call) onBye(ev *reqEvent) {
	res := sip.NewResponseFromRequest(ev.req, 200, "OK", nil)
	switch {
	case c.state == stAnswered:
		c.b.Responder.Send(ev.tx, res)
		close(ev.done)
		c.dropPending(ev.fromA)
		c.byeFrom(ev.fromA)
		c.endAnswered(leg.Index(ev.fromA))
		c.log.Info("call ended", "by", c.cdr.HangupBy)
	case c.state == stRinging && ev.fromA:
		c.b.Responder.Send(ev.tx, res)
		close(ev.done)
		c.respondA(487, "Request Terminated", nil)
		c.endRinging(0, "", directory.Cancelled, "caller")
	default:
		c.methods.refuse(ev, 481, "Call/Transaction Does Not Exist")
	}
}

// teardown releases everything the call holds and writes its CDR row.
func (c *call) teardown() {
	for _, ev := range c.mailbox.drain() {
		switch r := ev.(type) {
		case *reqEvent:
			c.methods.refuse(r, 481, "Call/Transaction Does Not Exist")
		case endedEvent:
			r.callOver(c)
		}
	}
	c.DropReinvite()
	c.state = stEnded
	c.syncLegs()
	c.end(500, "Server Internal Error") // unless a final response went
	dial.Terminate(c.ring.Forks, c.xforks, c.rooms.allForks())
	c.Relay.Close()
	c.reqCancel()
	c.wg.Wait()
	c.b.remove(c)
	c.cdr.EndedAt = time.Now().UTC()
	c.b.taps.closed(c)
	c.writeCDR()
	c.log.Info("call over", append([]any{"disposition", c.cdr.Disposition, "by", c.cdr.HangupBy}, c.RTPCounts()...)...)
}
