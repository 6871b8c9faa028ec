package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
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
		c.state = stEnded
		c.cdr.HangupBy, c.cdr.Reason = by, why
		c.noMedia()
		gone := c.rooms.ending(-1)
		if gone != 0 {
			c.byeA()
		}
		if gone != 1 {
			c.byeB()
		}
	}
}

// noMedia marks a late offer call ending before the caller's answer as
// failed: it never had media.
func (c *call) noMedia() {
	if c.needAnswer {
		c.needAnswer = false
		c.callRecord.noMedia()
	}
}

func (c *call) byeA() {
	c.byeAfterAck(true, c.leg[0].bye())
}

func (c *call) byeB() {
	if f := c.rooms.farEnd(); f != nil { // leg B is a room's, without a dialog
		f.endFarEnd()
		return
	}
	if !c.bAcked { // late offer: its 2xx needs an ACK with an answer first
		c.ackB(c.refusingAnswer(c.bOffer))
	}
	c.byeAfterAck(false, c.leg[1].bye())
}

func (c *call) onBye(ev *reqEvent) {
	res := sip.NewResponseFromRequest(ev.req, 200, "OK", nil)
	switch {
	case c.state == stAnswered:
		c.b.s.send(ev.tx, res)
		close(ev.done)
		c.state = stEnded
		c.dropPending(ev.fromA)
		c.noMedia()
		c.byeFrom(ev.fromA)
		gone := c.rooms.ending(-1)
		if ev.fromA && gone != 1 {
			c.byeB()
		} else if !ev.fromA && gone != 0 {
			c.byeA()
		}
		c.log.Info("call ended", "by", c.cdr.HangupBy)
	case c.state == stRinging && ev.fromA:
		c.b.s.send(ev.tx, res)
		close(ev.done)
		c.respondA(487, "Request Terminated", nil)
		c.endRinging(0, "", directory.Cancelled, "caller")
	default:
		c.b.s.respond(ev.tx, ev.req, 481, "Call/Transaction Does Not Exist")
		close(ev.done)
	}
}

// teardown releases everything the call holds and writes its CDR row.
func (c *call) teardown() {
	for _, ev := range c.mailbox.drain() {
		switch r := ev.(type) {
		case *reqEvent:
			c.b.s.respond(r.tx, r.req, 481, "Call/Transaction Does Not Exist")
			close(r.done)
		case endedEvent:
			r.callOver(c)
		}
	}
	c.dropReinvite()
	if c.state != stEnded {
		c.state = stEnded
	}
	c.syncLegs()
	if !c.aAnswered {
		c.respondA(500, "Server Internal Error", nil)
	}
	c.closeAFinal()
	terminateForks(c.ring.forks, c.xforks, c.rooms.allForks())
	c.relay.Close()
	c.reqCancel()
	c.wg.Wait()
	c.b.remove(c)
	c.cdr.EndedAt = time.Now().UTC()
	c.b.taps.closed(c)
	c.writeCDR()
	a, b := c.relay.Stats(media.LegA), c.relay.Stats(media.LegB)
	c.log.Info("call over", "disposition", c.cdr.Disposition, "by", c.cdr.HangupBy,
		"rtp_a", a.Packets, "rtp_b", b.Packets, "rtp_rejected_a", a.Rejected, "rtp_rejected_b", b.Rejected)
}
