package park

import (
	"slices"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
)

// The ring-back of a parked call (park.go): once park.timeout has run
// out, the dialer rings the parker's phones with an offer on the empty
// leg's relay port; the phone that answers takes that leg. Ringing that
// nobody answers within the ring time leaves the call parked for
// another park.timeout, parkRingBacks times, and then the call ends.

// onTimer runs when a park timer runs out.
func (p *parkedCall) onTimer(ev parkTimerEvent) {
	if ev.ring != nil {
		if p.ring == ev.ring {
			p.c.Log.Info("ring-back not answered", "orbit", p.orbit, "parker", p.parker.Num)
			p.ringBackOver()
		}
		return
	}
	if p.ring == nil && p.rings == ev.rings {
		p.ringBack()
	}
}

// ringBack rings the parker's phones.
func (p *parkedCall) ringBack() {
	c := p.c
	cred, err := p.lot.Core.Auth.Credential(p.parker.Ext)
	if err != nil || cred == nil {
		c.Log.Info("ring-back: parker unknown", "orbit", p.orbit, "parker", p.parker.Ext, "err", err)
		p.ringBackOver()
		return
	}
	tee := c.Parties[1-p.leg]
	from := tee.Num
	if from == "" {
		from = p.orbit
	}
	rt := &route.Route{Dir: directory.Internal, Dialed: cred.Ext, To: cred.Ext, CalleeID: cred.UserID, CallerID: tee.UserID,
		From: tee.Num, FromUser: from, FromName: "Park " + p.orbit, Targets: c.Core.UserTargets(cred)}
	targets, _ := dial.Pick(rt, c.Core.Busy)
	if len(targets) == 0 {
		c.Log.Info("ring-back: no phone of the parker free", "orbit", p.orbit, "parker", cred.Ext)
		p.ringBackOver()
		return
	}
	d := &dial.Dialer{Env: c.Env, OnFork: func(f *dial.Fork) { c.XForks = append(c.XForks, f) },
		OnResponse: p.onRingBackResponse, OnFailed: func(*dial.Fork) { p.ringBackFailed() },
		Source: c.Legs[p.leg].SDP, Origin: &p.origin, Leg: leg.RelayLeg(p.leg == 0), SendRecv: true}
	if err := d.Address(targets[0].Dest); err != nil {
		c.Log.Info("ring-back: no sdp for the parker", "err", err)
		p.ringBackOver()
		return
	}
	p.ring = d
	c.Log.Info("ringing back the parker", "orbit", p.orbit, "parker", cred.Ext, "try", p.rings+1)
	d.DialAll(rt, targets)
	if d.AllFailed() {
		p.ringBackFailed()
		return
	}
	p.after(c.Core.Config.RingTime, parkTimerEvent{p: p, ring: d})
}

// onRingBackResponse takes a response of a parker's phone. It may come
// after the park is over (another phone took the call, or it ended).
func (p *parkedCall) onRingBackResponse(f *dial.Fork, tx sip.ClientTransaction, res *sip.Response) {
	if !f.Settle(tx, res) {
		return
	}
	c := p.c
	mine := parkedOn(c) == p && p.ring != nil && slices.Contains(p.ring.Forks, f)
	if res.IsSuccess() {
		if !mine || c.State != call.StAnswered {
			f.AckAndBye(res) // another phone took it, or the park is over
			return
		}
		p.ringBackAnswered(f, res)
		return
	}
	if mine {
		p.ringBackFailed()
	}
}

// ringBackFailed runs when a fork of the ring-back failed.
func (p *parkedCall) ringBackFailed() {
	if parkedOn(p.c) == p && p.ring != nil && p.ring.AllFailed() {
		p.ringBackOver()
	}
}

// ringBackOver ends a ring-back nobody answered: the call stays parked
// until the next one, or ends after the last.
func (p *parkedCall) ringBackOver() {
	c := p.c
	if p.ring != nil {
		p.ring.CancelAll(nil)
		p.ring = nil
	}
	p.rings++
	if p.rings >= parkRingBacks {
		c.Log.Info("parked call not retrieved; hanging up", "orbit", p.orbit)
		c.Hangup("system", "parked at "+p.orbit+", not retrieved")
		return
	}
	if d := p.lot.Orbits.ringBackAfter(); d > 0 {
		p.after(d, parkTimerEvent{p: p, rings: p.rings})
	}
}

// ringBackAnswered puts the parker's phone that answered on the empty
// leg.
func (p *parkedCall) ringBackAnswered(f *dial.Fork, res *sip.Response) {
	c := p.c
	if !c.AnswerEmptyLeg(p.leg, f, res, p.origin) {
		p.ringBackOver()
		return
	}
	p.ring.CancelAll(f)
	p.ring = nil
	cred, _ := p.lot.Core.Auth.Credential(f.Target.Ext)
	p.take(call.Party{UserID: f.Target.UserID, Num: f.Target.Ext, Ext: f.Target.Ext}, cred, "returned", res.Body())
}
