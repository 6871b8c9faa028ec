package sip

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/presence"
)

// Call park (issue 16 §3). A party of an answered call, the parker, sends
// REFER naming the park code (*70 by default: the first free orbit) or an
// orbit number (orbits.go: the park.orbits setting). The PBX answers 202
// and, with calls.park, puts the call on the orbit: the other party, the
// parked one, stays on its leg of the call's relay, and the parker's leg
// has nobody: the PBX's own media endpoint takes its place on the relay
// and plays the music on hold (park.moh; parkmusic.go), or the leg sends
// nowhere and the parked party hears silence. The parker learns the orbit in the final NOTIFY
// ("SIP/2.0 200 Parked at 701") and gets a BYE. An orbit in use, no free
// orbit or no calls.park fail the REFER in that NOTIFY (486, 403) and the
// call goes on.
//
// Retrieval: an INVITE from an extension to the orbit (or to *70: the
// call parked longest that the extension may take) takes the empty leg,
// as an INVITE with Replaces takes a leg (attended.go): our 200 answers it
// with an SDP on that leg's relay port, and the parked party is taken off
// hold. calls.park decides it on who parked the call: own takes back only
// one's own parked calls, department those parked by members of one's
// groups, any every one; a refusal is a 403 naming why.
//
// Ring-back: a call parked for park.timeout rings its parker's phones
// (the dialer); the phone that answers takes the empty leg. A ring-back
// nobody answers leaves the call parked, to ring back again after
// park.timeout, parkRingBacks times in all; then the call ends.
//
// Busy lamps: an orbit is subscribable (dialog event) by whoever holds
// calls.park: "confirmed" while it holds a call, "terminated" once free;
// the parked party's number shows to watchers who may take any call.
//
// CDR: the call's row ends at the park (hangup_by "transfer", "parked at
// 701 by X") and the parked party gets a row to the orbit; retrieval or
// ring-back ends that one and starts a row between the parked party and
// whoever took it, as a transfer does. A parked party hanging up ends the
// orbit's row as any hangup does.

// parkRingBacks is how many times a parked call rings back its parker
// before the PBX gives up and hangs up.
const parkRingBacks = 3

// parkState is a call while parked.
type parkState struct {
	orbit  string
	dialed string // what the REFER named: the park code or the orbit
	leg    int    // the empty leg, the parker's: 0 A, 1 B
	parker party
	since  time.Time
	lamp   presence.Leg // the orbit's busy lamp

	// The ring-back: the dialer ringing the parker (nil when none
	// rings), the ring-backs so far, and the origin of our SDP to it.
	ring   *dialer
	rings  int
	origin origin

	// ctx ends the park's timers: when the park ends, or with the call.
	ctx    context.Context
	cancel context.CancelFunc

	// music plays the music on hold into the empty leg; nil: silence.
	music *media.Endpoint
}

// Events of call park.
type (
	// retrieveEvent is an INVITE to the orbit the call is parked on.
	retrieveEvent struct {
		req   *sip.Request
		tx    sip.ServerTransaction
		cred  *credential
		orbit string
		done  chan struct{}
	}
	// parkTimerEvent: the park timeout ran out (ring == nil), or the
	// ring-back ring rang its ring time.
	parkTimerEvent struct {
		ps    *parkState
		rings int
		ring  *dialer
	}
)

// parkTarget tells whether a REFER's number parks the call: the park code
// (orbit "": the first free one) or an orbit number.
func (b *b2bua) parkTarget(number string) (orbit string, ok bool) {
	n := unescapeUser(number)
	if f, _, ok := directory.MatchFeature(b.s.features.get(), n); ok && f.Feature == directory.FeaturePark && f.Ready {
		return "", true
	}
	if b.orbits.isOrbit(n) {
		return n, true
	}
	return "", false
}

// parkAllowed asks authz whether user id may park a call (parker: id
// itself) or take one parked by parker. denied is the refusal, err the
// directory's failure.
func (b *b2bua) parkAllowed(id, parker int64) (denied, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.s.cfg.StoreTimeout)
	defer cancel()
	acc, err := b.s.store.Access(ctx, id)
	if err != nil {
		return nil, err
	}
	return mayRetrieve(authz.NewSubject(acc), parker), nil
}

// mayRetrieve decides calls.park for subj on a call parked by parker.
func mayRetrieve(subj *authz.Subject, parker int64) error {
	return authz.Can(subj, authz.CallsPark, authz.Resource{Kind: authz.KindCall, UserIDs: []int64{parker}})
}

// parkCall parks the call on orbit want ("": the first free one) for the
// REFER x of parker, which onRefer has accepted.
func (c *call) parkCall(x *xfer, parker party, want string) {
	denied, err := c.b.parkAllowed(parker.userID, parker.userID)
	if err != nil {
		c.log.Warn("park refused: directory unavailable", "err", err)
		x.failed(503, "Service Unavailable", directory.Failed, "park: directory unavailable")
		return
	}
	if denied != nil {
		reason := deniedReason(denied)
		c.log.Info("park refused", "by", parker.num, "reason", reason)
		x.failed(403, "Forbidden ("+reason+")", directory.Denied, "park: "+reason)
		return
	}
	teeLeg := legIndex(!x.fromA)
	tee := c.parties[teeLeg]
	now := time.Now()
	orbit, err := c.b.orbits.claim(want, &orbitSlot{c: c, parker: parker.userID, parkerExt: parker.ext,
		caller: tee.num, since: now})
	switch {
	case errors.Is(err, errOrbitBusy):
		x.failed(486, "Busy Here (Orbit "+want+" In Use)", directory.Busy, "orbit "+want+" in use")
		return
	case errors.Is(err, errNoFreeOrbit):
		x.failed(486, "Busy Here (No Free Orbit)", directory.Busy, "no free orbit")
		return
	case errors.Is(err, errParkDisabled):
		x.failed(404, "Not Found (No Park Orbits)", directory.Failed, "park: no orbits configured")
		return
	case err != nil:
		x.failed(404, "Not Found (No Such Orbit)", directory.Failed, "park: "+err.Error())
		return
	}

	x.handedOver()
	leg := legIndex(x.fromA)
	old := *c.legDialog(x.fromA)
	c.dropPending(x.fromA)
	c.leave(old)
	// Nobody on the parker's leg: a dialog no request can name, so that
	// the call stays answered and no request reaches the empty leg.
	*c.legDialog(x.fromA) = dialog{callID: "parked-" + sip.GenerateTagN(16), localTag: sip.GenerateTagN(8),
		remoteTag: sip.GenerateTagN(8)}
	ml := mediaLeg(x.fromA)
	c.relay.SetPeer(ml, netip.Addr{})
	c.relay.SetRemote(ml, netip.AddrPort{}, netip.AddrPort{})
	c.relay.SetHold(ml, true) // its silence is expected
	c.setParty(leg, party{num: orbit})
	if parker.ext != tee.ext {
		c.b.release(c, parker.ext)
	}
	if x.fromA {
		c.caller = nil
	}
	ps := &parkState{orbit: orbit, dialed: x.target, leg: leg, parker: parker, since: now,
		lamp: presence.Leg{ID: "park-" + orbit + "-" + sip.GenerateTagN(12), State: presence.LegAnswered, Peer: shownNumber(tee.num)}}
	ps.origin.id = uint64(now.UnixNano()&0x7fffffffffff) + 4
	ps.ctx, ps.cancel = context.WithCancel(c.reqCtx)
	c.park = ps
	c.playParkMusic(ps, ml) // parkmusic.go
	c.parkedRow(ps, tee)
	c.log.Info("call parked", "orbit", orbit, "by", parker.num, "party", tee.num)
	c.sendInOrder(x.notify(&old, "SIP/2.0 200 Parked at "+orbit, true), old.request(sip.BYE))
	c.b.s.pres.Leg(orbit, ps.lamp, false)
	if d := c.b.orbits.ringBackAfter(); d > 0 {
		c.parkAfter(ps, d, parkTimerEvent{ps: ps})
	}
}

// parkedRow ends the call's row at the park and starts the parked
// party's row to the orbit.
func (c *call) parkedRow(ps *parkState, tee party) {
	now := time.Now().UTC()
	dir := c.cdr.Direction
	c.cdr.EndedAt = now
	c.cdr.HangupBy = "transfer"
	c.cdr.Reason = "parked at " + ps.orbit + " by " + ps.parker.num
	c.writeCDR()
	teeLeg := 1 - ps.leg
	row := directory.Call{SIPCallID: c.leg[teeLeg].dlg.callID, CallerID: tee.userID, From: tee.num, To: ps.orbit,
		Dialed: ps.dialed, StartedAt: now, AnsweredAt: now, Disposition: directory.Answered,
		Reason: "parked at " + ps.orbit + " by " + ps.parker.num, Node: c.b.s.cfg.Node, Direction: dir}
	c.cdr = row
	c.shown.Store(&activeView{callerID: row.CallerID, from: row.From, to: row.To, dir: row.Direction,
		started: row.StartedAt, parked: true})
	c.callerLeg = teeLeg
}

// parkAfter posts ev to the call after d, unless the park ends first.
func (c *call) parkAfter(ps *parkState, d time.Duration, ev parkTimerEvent) {
	ctx := ps.ctx
	c.wg.Go(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			c.post(ev)
		case <-ctx.Done():
		}
	})
}

// endPark frees the orbit: the call was taken, or it ends.
func (c *call) endPark() {
	ps := c.park
	if ps == nil {
		return
	}
	c.park = nil
	ps.cancel()
	if ps.music != nil {
		ps.music.Close()
	}
	if ps.ring != nil {
		ps.ring.cancelAll(nil)
		ps.ring = nil
	}
	c.b.orbits.free(ps.orbit, c)
	c.b.s.pres.Leg(ps.orbit, ps.lamp, true)
	c.log.Info("orbit free", "orbit", ps.orbit)
}

// parkOver runs as the call ends (hangup.go): gone is the leg nobody is on
// any more (a transferor's), -1 when none; a parked call's empty leg is
// such a leg, and gets no BYE.
func (c *call) parkOver(gone int) int {
	ps := c.park
	if ps == nil {
		return gone
	}
	c.endPark()
	return ps.leg
}

// takeParked puts who (cred, nil outside the PBX) on the empty leg of the
// parked call, whose SDP to it went already: the orbit is free, the CDR
// row changes, and the parked party is taken off hold with answer, who's
// SDP.
func (c *call) takeParked(ps *parkState, who party, cred *credential, how string, answer []byte) {
	isA := ps.leg == 0
	c.endPark()
	c.setParty(ps.leg, who)
	c.b.take(c, who.ext)
	if isA {
		c.caller = cred
	}
	c.log.Info("parked call "+how, "orbit", ps.orbit, "by", who.num)
	c.joinCDR(time.Now().UTC(), who, ps.orbit, how+" from "+ps.orbit+" by "+who.num, how+" from "+ps.orbit, isA)
	c.unholdTransferee(!isA, answer)
}

// retrieveOrbit takes an extension's INVITE to an orbit number and
// reports whether it was one.
func (b *b2bua) retrieveOrbit(req *sip.Request, tx sip.ServerTransaction, cred *credential) bool {
	dialed := unescapeUser(req.Recipient.User)
	if !b.orbits.isOrbit(dialed) {
		return false
	}
	b.retrieve(req, tx, cred, dialed)
	return true
}

// retrieve answers an INVITE of cred's user that takes the call parked on
// orbit ("": the call parked longest that the user may take), and returns
// once it has its final response (and, for a 2xx, its ACK).
func (b *b2bua) retrieve(req *sip.Request, tx sip.ServerTransaction, cred *credential, orbit string) {
	ctx, cancel := context.WithTimeout(context.Background(), b.s.cfg.StoreTimeout)
	acc, err := b.s.store.Access(ctx, cred.UserID)
	cancel()
	if err != nil {
		b.log.Warn("retrieve refused: directory unavailable", "ext", cred.Ext, "err", err)
		res := b.s.response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", storeRetryAfter))
		b.s.send(tx, res)
		return
	}
	if b.busy(cred.Ext) {
		b.s.respond(tx, req, 403, "Forbidden (Too Many Calls)")
		return
	}
	subj := authz.NewSubject(acc)
	var slot *orbitSlot
	var refusal error
	if orbit != "" {
		if slot = b.orbits.slot(orbit); slot == nil {
			b.s.respond(tx, req, 480, "Temporarily Unavailable (Nothing Parked At "+orbit+")")
			return
		}
		refusal = mayRetrieve(subj, slot.parker)
	} else {
		for _, s := range b.orbits.parked() {
			if refusal = mayRetrieve(subj, s.parker); refusal == nil {
				slot = &s
				break
			}
		}
		if slot == nil && refusal == nil {
			b.s.respond(tx, req, 480, "Temporarily Unavailable (Nothing Parked)")
			return
		}
	}
	if refusal != nil {
		reason := deniedReason(refusal)
		b.log.Info("retrieve refused", "ext", cred.Ext, "orbit", orbit, "reason", reason)
		b.s.respond(tx, req, 403, "Forbidden ("+reason+")")
		return
	}
	done := make(chan struct{})
	if !slot.c.post(&retrieveEvent{req: req, tx: tx, cred: cred, orbit: slot.orbit, done: done}) {
		b.s.respond(tx, req, 480, "Temporarily Unavailable (Nothing Parked At "+slot.orbit+")")
		return
	}
	<-done
}

// onRetrieve answers, in the parked call, an INVITE that takes it.
func (c *call) onRetrieve(ev *retrieveEvent) {
	reject := func(code int, reason string) {
		c.b.s.respond(ev.tx, ev.req, code, reason)
		close(ev.done)
	}
	ps := c.park
	if ps == nil || ps.orbit != ev.orbit || c.state != stAnswered {
		reject(480, "Temporarily Unavailable (Nothing Parked At "+ev.orbit+")")
		return
	}
	if !c.idle() {
		reject(491, "Request Pending")
		return
	}
	sd, m, err := parseSDP(ev.req.Body())
	if err != nil {
		reject(488, "Not Acceptable Here (Offer Needed)")
		return
	}
	isA := ps.leg == 0
	ans, _, err := parseSDP(c.leg[ps.leg].sdp) // the parked party's media, as the parker had it
	if err != nil || !commonFormats(ans, sd) {
		reject(488, "Not Acceptable Here")
		return
	}
	sendrecv(ans)
	joined := firstVoiceSD(ans)
	org := origin{id: uint64(time.Now().UnixNano()&0x7fffffffffff) + 5}
	src := ev.req.Source()
	body, err := legSDP(ans, &org, c.b.mediaIP(src), c.relay, mediaLeg(isA))
	if err != nil {
		reject(488, "Not Acceptable Here")
		return
	}
	req := ev.req.Clone()
	req.To().Params.Add("tag", sip.GenerateTagN(16))
	d := c.b.uasDialog(req)
	c.b.alias(d.callID, c) // its ACK and requests come to this call
	*c.legDialog(isA) = d
	c.relay.SetPeer(mediaLeg(isA), peerIP(d.dest))
	ok200 := c.okResponse(req, body, d.contact)
	if err := ev.tx.Respond(ok200); err != nil {
		c.log.Info("200 to the retrieving party not sent", "err", err)
		close(ev.done)
	} else {
		c.awaitAck(req, pending2xx{fromA: isA, tx: ev.tx, res: ok200, done: ev.done})
	}
	c.leg[ps.leg].sdp, c.leg[ps.leg].origin = body, org
	c.setLegCodec(mediaLeg(isA), joined)
	setMedia(c.relay, mediaLeg(isA), m)
	c.relay.SetHold(mediaLeg(isA), m.hold)
	who := party{userID: ev.cred.UserID, num: ev.cred.Ext, ext: ev.cred.Ext}
	if !isA {
		c.bTarget = &target{userID: who.userID, ext: who.ext, dest: src, transport: d.transport}
	}
	c.takeParked(ps, who, ev.cred, "retrieved", ev.req.Body())
}

// watchOrbit decides a subscription to an orbit's busy lamp: whoever may
// park may watch orbits, and sees who is parked there when it may take
// any parked call.
func watchOrbit(watcher *authz.Subject, orbit string) ([]presence.Member, int, string) {
	if err := authz.CanDo(watcher, authz.CallsPark); err != nil {
		return nil, 403, "Forbidden (" + deniedReason(err) + ")"
	}
	info := authz.Can(watcher, authz.CallsPark, authz.Resource{Kind: authz.KindCall}) == nil
	return []presence.Member{{Ext: orbit, Info: info}}, 0, ""
}

// The events of call park run on the call they are posted to.

func (ev *retrieveEvent) handleOn(c *call) { c.onRetrieve(ev) }
func (ev parkTimerEvent) handleOn(c *call) { c.onParkTimer(ev) }

// callOver answers an INVITE that found the parked call over.
func (ev *retrieveEvent) callOver(c *call) {
	c.b.s.respond(ev.tx, ev.req, 480, "Temporarily Unavailable (Nothing Parked At "+ev.orbit+")")
	close(ev.done)
}
