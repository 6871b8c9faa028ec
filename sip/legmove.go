package sip

import (
	"context"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
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
func (c *call) unholdTransferee(toA bool, answer []byte) {
	sent := c.leg[0].sdp
	if !toA {
		sent = c.leg[1].sdp
	}
	_, m, err := sdpneg.Parse(sent)
	if err != nil || !m.Hold {
		c.relay.SetHold(mediaLeg(toA), false)
		return
	}
	sd, _, err := sdpneg.Parse(answer)
	if err != nil {
		return
	}
	d, o := c.legDialog(toA), &c.leg[legIndex(toA)].origin
	sdpneg.SendRecv(sd)
	sdpneg.WidenOffer(sd)
	body, err := sdpneg.LegSDP(sd, o, c.b.mediaIP(d.dest), c.relay, mediaLeg(toA))
	if err != nil {
		return
	}
	req := d.request(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	c.leg[legIndex(toA)].sdp = body
	c.unhold = true
	c.wg.Go(func() {
		res, err := c.b.sendAndWait(c.reqCtx, req)
		c.post(unholdResult{toA: toA, res: res, err: err})
	})
}

func (c *call) onUnholdResult(r unholdResult) {
	c.unhold = false
	if r.err != nil || r.res == nil || c.state != stAnswered {
		return
	}
	if !r.res.IsSuccess() {
		c.log.Info("transferee not taken off hold", "status", r.res.StatusCode)
		return
	}
	d := c.legDialog(r.toA)
	if err := c.b.s.client.WriteRequest(d.request(sip.ACK)); err != nil {
		c.log.Debug("ack not sent", "err", err)
	}
	if _, m, err := sdpneg.Parse(r.res.Body()); err == nil {
		c.setLegCodec(mediaLeg(r.toA), sdpneg.FirstVoice(r.res.Body()))
		sdpneg.SetMedia(c.relay, mediaLeg(r.toA), m)
		c.relay.SetHold(mediaLeg(r.toA), m.Hold)
	}
}

// onRelatch unlatches a transferred leg whose relay source is not the
// target's SDP address, so that the target's next packet latches it.
func (c *call) onRelatch(ev relatchEvent) {
	if c.state != stAnswered || c.legDialog(ev.toA).callID != ev.callID || !ev.rtp.IsValid() {
		return
	}
	leg := mediaLeg(ev.toA)
	if src := c.relay.Stats(leg).Source; !src.IsValid() || src == ev.rtp {
		return
	}
	c.relay.SetRemote(leg, netip.AddrPort{}, netip.AddrPort{})
	c.relay.SetRemote(leg, ev.rtp, ev.rtcp)
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
	switch {
	case c.state != stAnswered:
		return false, false
	case r.names(&c.leg[0].dlg):
		return true, true
	case r.names(&c.leg[1].dlg):
		return false, true
	}
	return false, false
}

// idle reports whether the call has no transaction of its own open that a
// change of legs would break.
func (c *call) idle() bool {
	return !c.rooms.transactionOpen() && c.reinv == nil && !c.needAnswer && !c.unhold && len(c.pending) == 0
}

// idleBut is idle, except that the 2xx of leg fromA may still wait for its
// ACK: that leg is about to go.
func (c *call) idleBut(fromA bool) bool {
	if c.rooms.transactionOpen() || c.reinv != nil || c.needAnswer || c.unhold {
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
// and who, the party on leg toA now.
func (c *call) joinCDR(started time.Time, who party, dialed, endReason, reason string, toA bool) {
	now := time.Now().UTC()
	c.cdr.EndedAt = now
	c.cdr.HangupBy = "transfer"
	c.cdr.Reason = endReason
	c.writeCDR()
	stay := c.parties[legIndex(!toA)]
	row := directory.Call{SIPCallID: c.legDialog(!toA).callID, CallerID: stay.userID, From: stay.num,
		CalleeID: who.userID, To: who.num, Dialed: dialed, StartedAt: started, AnsweredAt: now,
		Disposition: directory.Answered, Reason: reason, Node: c.b.s.cfg.Node}
	switch {
	case who.ext == "":
		row.Direction = directory.Outbound
	case stay.ext == "":
		row.Direction = directory.Inbound
	default:
		row.Direction = directory.Internal
	}
	c.cdr = row
	c.show(row)
	c.callerLeg = legIndex(!toA)
}

// The events of a leg changing hands run on the call they are posted to.

func (ev unholdResult) handleOn(c *call) { c.onUnholdResult(ev) }
func (ev relatchEvent) handleOn(c *call) { c.onRelatch(ev) }
