package sip

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A leg changing hands: the operations of the call that the features
// moving a party onto a leg use (blind and attended transfer, park and its
// retrieval, pickup and INVITE with Replaces). The dialog of the party
// that left is remembered (its late requests are answered), the requests
// it still gets go out one after the other, the leg's relay source is
// latched again, the party that stayed is taken off hold, and the CDR row
// is split at the join.

// leave remembers d, the dialog of a party the call left (a transferor,
// a parker, a replaced phone): its late requests are answered, and the
// legs are told apart by dialog from now on.
func (c *call) leave(d dialog) {
	c.leftDialogs = append(c.leftDialogs, d)
	c.legReplaced = true
}

// afterChain posts ev to the call once the requests of sendInOrder so far
// are done.
func (c *call) afterChain(ev any) {
	prev := c.chain
	c.wg.Go(func() {
		if prev != nil {
			<-prev
		}
		c.post(ev)
	})
}

// sendInOrder sends requests of one dialog one after the other, after
// those of earlier calls, each once answered or timed out.
func (c *call) sendInOrder(reqs ...*sip.Request) {
	prev := c.chain
	done := make(chan struct{})
	c.chain = done
	c.wg.Go(func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		for _, r := range reqs {
			ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
			res, err := c.b.sendAndWait(ctx, r)
			cancel()
			if err != nil {
				c.log.Debug("request to transferor not answered", "method", string(r.Method), "err", err)
			} else if !res.IsSuccess() {
				c.log.Debug("request to transferor refused", "method", string(r.Method), "status", res.StatusCode)
			}
		}
	})
}

// replacedLeg returns the leg of an answered call that r names.
func (c *call) replacedLeg(r replaces) (isA, ok bool) {
	if c.state != stAnswered {
		return false, false
	}
	return c.legNamed(r)
}

// idle reports whether the call has no transaction of its own open that a
// change of legs would break.
func (c *call) idle() bool {
	return !c.rooms.transactionOpen() && !c.transacting() && !c.needAnswer && len(c.pending) == 0
}

// idleBut is idle, except that the 2xx of leg fromA may still wait for its
// ACK: that leg is about to go.
func (c *call) idleBut(fromA bool) bool {
	if c.rooms.transactionOpen() || c.transacting() || c.needAnswer {
		return false
	}
	for _, p := range c.pending {
		if p.fromA != fromA {
			return false
		}
	}
	return true
}

// swapSlots moves the call slot of ext out to ext in.
func (c *call) swapSlots(out, in string) {
	var keep []string
	for _, p := range c.parties {
		keep = append(keep, p.ext)
	}
	if out != "" && !containsStr(keep, out) {
		c.b.release(c, out)
	}
	c.b.take(c, in)
}

// joinCDR ends the call's row and starts one between the party that stayed
// and who, the party on leg toA now (callRecord.joinCDR).
func (c *call) joinCDR(started time.Time, who party, dialed, endReason, reason string, toA bool) {
	c.callRecord.joinCDR(c.legDialog(!toA).callID, started, who, dialed, endReason, reason, toA)
}
