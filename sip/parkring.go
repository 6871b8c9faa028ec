package sip

import (
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// The ring-back of a parked call (park.go): once park.timeout has run
// out, the dialer rings the parker's phones with an offer on the empty
// leg's relay port; the phone that answers takes that leg. Ringing that
// nobody answers within the ring time leaves the call parked for
// another park.timeout, parkRingBacks times, and then the call ends.

// onParkTimer runs when a park timer runs out.
func (c *call) onParkTimer(ev parkTimerEvent) {
	ps := c.park
	if ps != ev.ps || c.state != stAnswered {
		return // the park is over
	}
	if ev.ring != nil {
		if ps.ring == ev.ring {
			c.log.Info("ring-back not answered", "orbit", ps.orbit, "parker", ps.parker.num)
			c.ringBackOver()
		}
		return
	}
	if ps.ring == nil && ps.rings == ev.rings {
		c.ringBack(ps)
	}
}

// ringBack rings the parker's phones.
func (c *call) ringBack(ps *parkState) {
	cred, err := c.b.s.credential(ps.parker.ext)
	if err != nil || cred == nil {
		c.log.Info("ring-back: parker unknown", "orbit", ps.orbit, "parker", ps.parker.ext, "err", err)
		c.ringBackOver()
		return
	}
	tee := c.parties[1-ps.leg]
	from := tee.num
	if from == "" {
		from = ps.orbit
	}
	rt := &route{dir: directory.Internal, dialed: cred.Ext, to: cred.Ext, calleeID: cred.UserID, callerID: tee.userID,
		from: tee.num, fromUser: from, fromName: "Park " + ps.orbit, targets: c.b.userTargets(cred)}
	targets, _ := pickTargets(rt, c.b.busy)
	if len(targets) == 0 {
		c.log.Info("ring-back: no phone of the parker free", "orbit", ps.orbit, "parker", cred.Ext)
		c.ringBackOver()
		return
	}
	d := &dialer{env: c.dialEnv(), onFork: func(f *fork) { c.xforks = append(c.xforks, f) },
		onResponse: c.onRingBackResponse, onFailed: func(*fork) { c.ringBackFailed() },
		source: c.leg[ps.leg].sdp, origin: &ps.origin, leg: mediaLeg(ps.leg == 0), sendrecv: true}
	if err := d.address(targets[0].dest); err != nil {
		c.log.Info("ring-back: no sdp for the parker", "err", err)
		c.ringBackOver()
		return
	}
	ps.ring = d
	c.log.Info("ringing back the parker", "orbit", ps.orbit, "parker", cred.Ext, "try", ps.rings+1)
	d.dialAll(rt, targets)
	if d.allFailed() {
		c.ringBackFailed()
		return
	}
	c.parkAfter(ps, c.b.cfg.RingTime, parkTimerEvent{ps: ps, ring: d})
}

func (c *call) onRingBackResponse(f *fork, tx sip.ClientTransaction, res *sip.Response) {
	if !f.settle(tx, res) {
		return
	}
	ps := c.park
	mine := ps != nil && ps.ring != nil && containsFork(ps.ring.forks, f)
	if res.IsSuccess() {
		if !mine || c.state != stAnswered {
			f.ackAndBye(res) // another phone took it, or the park is over
			return
		}
		c.ringBackAnswered(ps, f, res)
		return
	}
	if mine {
		c.ringBackFailed()
	}
}

// ringBackFailed runs when a fork of the ring-back failed.
func (c *call) ringBackFailed() {
	if ps := c.park; ps != nil && ps.ring != nil && ps.ring.allFailed() {
		c.ringBackOver()
	}
}

// ringBackOver ends a ring-back nobody answered: the call stays parked
// until the next one, or ends after the last.
func (c *call) ringBackOver() {
	ps := c.park
	if ps.ring != nil {
		ps.ring.cancelAll(nil)
		ps.ring = nil
	}
	ps.rings++
	if ps.rings >= parkRingBacks {
		c.log.Info("parked call not retrieved; hanging up", "orbit", ps.orbit)
		c.hangup("system", "parked at "+ps.orbit+", not retrieved")
		return
	}
	if d := c.b.orbits.ringBackAfter(); d > 0 {
		c.parkAfter(ps, d, parkTimerEvent{ps: ps, rings: ps.rings})
	}
}

// ringBackAnswered puts the parker's phone that answered on the empty
// leg.
func (c *call) ringBackAnswered(ps *parkState, f *fork, res *sip.Response) {
	if !c.answerEmptyLeg(ps.leg, f, res, ps.origin) {
		c.ringBackOver()
		return
	}
	ps.ring.cancelAll(f)
	ps.ring = nil
	cred, _ := c.b.s.credential(f.t.ext)
	c.takeParked(ps, party{userID: f.t.userID, num: f.t.ext, ext: f.t.ext}, cred, "returned", res.Body())
}

// answerEmptyLeg puts fork f, whose 2xx res answered an offer on the relay
// port of leg (0: A, 1: B), on that leg, which nobody was on: it ACKs the
// 2xx, points the leg's media at the phone and makes f's dialog the
// leg's. A 2xx without a usable SDP gets a BYE, and false. Park's
// ring-back and call queues (queuecall.go) use it.
func (c *call) answerEmptyLeg(leg int, f *fork, res *sip.Response, org origin) bool {
	d := forkDialog(f, res)
	ack := d.request(sip.ACK)
	tmpl := ack.Clone()
	f.tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			_ = c.b.s.client.WriteRequest(tmpl.Clone())
		}
	})
	if err := c.b.s.client.WriteRequest(ack); err != nil {
		c.log.Info("ack not sent", "err", err)
	}
	_, m, err := parseSDP(res.Body())
	if err != nil {
		c.log.Info("bad sdp from the phone that answered", "err", err)
		bye := d.request(sip.BYE)
		c.wg.Go(func() { c.sendBye(bye) })
		return false
	}
	isA := leg == 0
	ml := mediaLeg(isA)
	c.setLegCodec(ml, firstVoice(res.Body()))
	setMedia(c.relay, ml, m)
	c.relay.SetHold(ml, m.hold)
	c.leg[leg].dlg, c.leg[leg].sdp, c.leg[leg].origin = d, f.req.Body(), org
	c.relay.SetPeer(ml, peerIP(d.dest))
	if !isA {
		t := f.t
		c.bTarget = &t
	}
	return true
}
