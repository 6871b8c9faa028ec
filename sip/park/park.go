package park

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/presence"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/transfer"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Call park. A party of an answered call, the parker, sends
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
// as an INVITE with Replaces takes a leg (sip/transfer): our 200 answers it
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

// parkingLot is the call park of the node, held by b2bua: the orbits,
// the REFERs that park a call on them and the INVITEs that take a call
// from them.
type Lot struct {
	Core   *call.Core
	Orbits *orbitTable
	// Features is the table of feature codes in force (the park code).
	Features func() []directory.FeatureCode
	// Lamps lights the orbits' busy lamps.
	Lamps *presence.Table
}

// parkedCall is the park's room on a call while the call is parked:
// park opens it, end closes it (a retrieval, a ring-back answered, the
// call's end). Like the call's other fields, only the call's goroutine
// touches it.
type parkedCall struct {
	lot    *Lot
	c      *call.Call
	orbit  string
	dialed string // what the REFER named: the park code or the orbit
	leg    int    // the empty leg, the parker's: 0 A, 1 B
	parker call.Party
	since  time.Time
	lamp   presence.Leg // the orbit's busy lamp

	// The ring-back: the dialer ringing the parker (nil when none
	// rings), the ring-backs so far, and the origin of our SDP to it.
	ring   *dial.Dialer
	rings  int
	origin sdpneg.Origin

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
		cred  *call.Credential
		orbit string
		done  chan struct{}
	}
	// parkTimerEvent: the park timeout ran out (ring == nil), or the
	// ring-back ring rang its ring time.
	parkTimerEvent struct {
		p     *parkedCall
		rings int
		ring  *dial.Dialer
	}
)

func (p *parkedCall) RoomName() string { return "park" }

// CallEnding frees the orbit as the call ends: the empty leg is one
// nobody is on any more, and gets no BYE.
func (p *parkedCall) CallEnding(int) int {
	p.end()
	return p.leg
}

// RefuseReinvite: nobody is on the empty leg to take an offer.
func (p *parkedCall) RefuseReinvite(passOn bool) (int, string) {
	if passOn {
		return 488, "Not Acceptable Here (Call Parked)"
	}
	return 0, ""
}

// TakeRequest refuses the parked party's REFER: a parked call is not
// transferred.
func (p *parkedCall) TakeRequest(ev *call.ReqEvent) bool {
	if ev.Req.Method != sip.REFER {
		return false
	}
	p.c.Core.Responder.Respond(ev.Tx, ev.Req, 403, "Forbidden (Call Parked)")
	close(ev.Done)
	return true
}

// parkedOn returns the park open on c, or nil.
func parkedOn(c *call.Call) *parkedCall {
	for _, r := range c.Rooms {
		if p, ok := r.(*parkedCall); ok {
			return p
		}
	}
	return nil
}

// Target tells whether a REFER's number parks the call: the park code
// (orbit "": the first free one) or an orbit number.
func (pl *Lot) Target(number string) (orbit string, ok bool) {
	n := wire.UnescapeUser(number)
	if f, _, ok := directory.MatchFeature(pl.Features(), n); ok && f.Feature == directory.FeaturePark && f.Ready {
		return "", true
	}
	if pl.Orbits.IsOrbit(n) {
		return n, true
	}
	return "", false
}

// allowed asks authz whether user id may park a call (parker: id itself)
// or take one parked by parker. denied is the refusal, err the
// directory's failure.
func (pl *Lot) allowed(id, parker int64) (denied, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), pl.Core.StoreTimeout)
	defer cancel()
	acc, err := pl.Core.Store.Access(ctx, id)
	if err != nil {
		return nil, err
	}
	return mayRetrieve(authz.NewSubject(acc), parker), nil
}

// mayRetrieve decides calls.park for subj on a call parked by parker.
func mayRetrieve(subj *authz.Subject, parker int64) error {
	return authz.Can(subj, authz.CallsPark, authz.Resource{Kind: authz.KindCall, UserIDs: []int64{parker}})
}

// Park parks call c on orbit want ("": the first free one) for the REFER
// x of parker, which onRefer has accepted; on c's goroutine.
func (pl *Lot) Park(c *call.Call, x *transfer.Transfer, parker call.Party, want string) {
	denied, err := pl.allowed(parker.UserID, parker.UserID)
	if err != nil {
		c.Log.Warn("park refused: directory unavailable", "err", err)
		x.Failed(503, "Service Unavailable", directory.Failed, "park: directory unavailable")
		return
	}
	if denied != nil {
		reason := authz.DeniedReason(denied)
		c.Log.Info("park refused", "by", parker.Num, "reason", reason)
		x.Failed(403, "Forbidden ("+reason+")", directory.Denied, "park: "+reason)
		return
	}
	teeLeg := leg.Index(!x.FromA)
	tee := c.Parties[teeLeg]
	now := time.Now()
	orbit, err := pl.Orbits.claim(want, &orbitSlot{c: c, Parker: parker.UserID, parkerExt: parker.Ext,
		Caller: tee.Num, since: now})
	switch {
	case errors.Is(err, errOrbitBusy):
		x.Failed(486, "Busy Here (Orbit "+want+" In Use)", directory.Busy, "orbit "+want+" in use")
		return
	case errors.Is(err, errNoFreeOrbit):
		x.Failed(486, "Busy Here (No Free Orbit)", directory.Busy, "no free orbit")
		return
	case errors.Is(err, errParkDisabled):
		x.Failed(404, "Not Found (No Park Orbits)", directory.Failed, "park: no orbits configured")
		return
	case err != nil:
		x.Failed(404, "Not Found (No Such Orbit)", directory.Failed, "park: "+err.Error())
		return
	}

	x.HandedOver()
	parkerLeg := leg.Index(x.FromA)
	old := *c.LegDialog(x.FromA)
	c.DropPending(x.FromA)
	c.Leave(old)
	// Nobody on the parker's leg: a dialog no request can name, so that
	// the call stays answered and no request reaches the empty leg.
	*c.LegDialog(x.FromA) = leg.Dialog{CallID: "parked-" + sip.GenerateTagN(16), LocalTag: sip.GenerateTagN(8),
		RemoteTag: sip.GenerateTagN(8)}
	ml := leg.RelayLeg(x.FromA)
	c.Relay.SetPeer(ml, netip.Addr{})
	c.Relay.SetRemote(ml, netip.AddrPort{}, netip.AddrPort{})
	c.Relay.SetHold(ml, true) // its silence is expected
	c.SetParty(parkerLeg, call.Party{Num: orbit})
	if parker.Ext != tee.Ext {
		pl.Core.Release(c, parker.Ext)
	}
	if x.FromA {
		c.Caller = nil
	}
	p := &parkedCall{lot: pl, c: c, orbit: orbit, dialed: x.Target, leg: parkerLeg, parker: parker, since: now,
		lamp: presence.Leg{ID: "park-" + orbit + "-" + sip.GenerateTagN(12), State: presence.LegAnswered, Peer: call.ShownNumber(tee.Num)}}
	p.origin.ID = uint64(now.UnixNano()&0x7fffffffffff) + 4
	p.ctx, p.cancel = context.WithCancel(c.ReqCtx)
	c.Rooms.Open(p)
	p.playMusic(ml) // parkmusic.go
	p.parkedRow(tee)
	c.Log.Info("call parked", "orbit", orbit, "by", parker.Num, "party", tee.Num)
	c.SendInOrder(x.Notify(&old, "SIP/2.0 200 Parked at "+orbit, true), old.Request(sip.BYE))
	pl.Lamps.Leg(orbit, p.lamp, false)
	if d := pl.Orbits.ringBackAfter(); d > 0 {
		p.after(d, parkTimerEvent{p: p})
	}
}

// parkedRow ends the call's row at the park and starts the parked
// party's row to the orbit.
func (p *parkedCall) parkedRow(tee call.Party) {
	c := p.c
	now := time.Now().UTC()
	dir := c.CDR.Direction
	c.CDR.EndedAt = now
	c.CDR.HangupBy = "transfer"
	c.CDR.Reason = "parked at " + p.orbit + " by " + p.parker.Num
	c.WriteCDR()
	teeLeg := 1 - p.leg
	row := directory.Call{SIPCallID: c.Legs[teeLeg].Dialog.CallID, CallerID: tee.UserID, From: tee.Num, To: p.orbit,
		Dialed: p.dialed, StartedAt: now, AnsweredAt: now, Disposition: directory.Answered,
		Reason: "parked at " + p.orbit + " by " + p.parker.Num, Node: c.Core.Node, Direction: dir}
	c.CDR = row
	c.Shown.Store(&call.ActiveView{CallerID: row.CallerID, From: row.From, To: row.To, Dir: row.Direction,
		Started: row.StartedAt, Parked: true})
	c.CallerLeg = teeLeg
}

// after posts ev to the call after d, unless the park ends first.
func (p *parkedCall) after(d time.Duration, ev parkTimerEvent) {
	c, ctx := p.c, p.ctx
	c.WG.Go(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			c.Post(ev)
		case <-ctx.Done():
		}
	})
}

// end frees the orbit and closes the room: the call was taken, or it
// ends.
func (p *parkedCall) end() {
	c := p.c
	c.Rooms.Close(p)
	p.cancel()
	if p.music != nil {
		p.music.Close()
	}
	if p.ring != nil {
		p.ring.CancelAll(nil)
		p.ring = nil
	}
	p.lot.Orbits.free(p.orbit, c)
	p.lot.Lamps.Leg(p.orbit, p.lamp, true)
	c.Log.Info("orbit free", "orbit", p.orbit)
}

// take puts who (cred, nil outside the PBX) on the empty leg of the
// parked call, whose SDP to it went already: the orbit is free, the CDR
// row changes, and the parked party is taken off hold with answer, who's
// SDP.
func (p *parkedCall) take(who call.Party, cred *call.Credential, how string, answer []byte) {
	c := p.c
	isA := p.leg == 0
	p.end()
	c.SetParty(p.leg, who)
	c.Core.Take(c, who.Ext)
	if isA {
		c.Caller = cred
	}
	c.Log.Info("parked call "+how, "orbit", p.orbit, "by", who.Num)
	c.JoinCDR(time.Now().UTC(), who, p.orbit, how+" from "+p.orbit+" by "+who.Num, how+" from "+p.orbit, isA)
	c.UnholdTransferee(!isA, answer)
}

// RetrieveOrbit takes an extension's INVITE to an orbit number and
// reports whether it was one.
func (pl *Lot) RetrieveOrbit(req *sip.Request, tx sip.ServerTransaction, cred *call.Credential) bool {
	dialed := wire.UnescapeUser(req.Recipient.User)
	if !pl.Orbits.IsOrbit(dialed) {
		return false
	}
	pl.Retrieve(req, tx, cred, dialed)
	return true
}

// Retrieve answers an INVITE of cred's user that takes the call parked on
// orbit ("": the call parked longest that the user may take), and returns
// once it has its final response (and, for a 2xx, its ACK).
func (pl *Lot) Retrieve(req *sip.Request, tx sip.ServerTransaction, cred *call.Credential, orbit string) {
	b := pl.Core
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	acc, err := b.Store.Access(ctx, cred.UserID)
	cancel()
	if err != nil {
		b.Log.Warn("retrieve refused: directory unavailable", "ext", cred.Ext, "err", err)
		res := b.Responder.Response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", call.StoreRetryAfter))
		b.Responder.Send(tx, res)
		return
	}
	if b.Busy(cred.Ext) {
		b.Responder.Respond(tx, req, 403, "Forbidden (Too Many Calls)")
		return
	}
	subj := authz.NewSubject(acc)
	var slot *orbitSlot
	var refusal error
	if orbit != "" {
		if slot = pl.Orbits.Slot(orbit); slot == nil {
			b.Responder.Respond(tx, req, 480, "Temporarily Unavailable (Nothing Parked At "+orbit+")")
			return
		}
		refusal = mayRetrieve(subj, slot.Parker)
	} else {
		for _, s := range pl.Orbits.parked() {
			if refusal = mayRetrieve(subj, s.Parker); refusal == nil {
				slot = &s
				break
			}
		}
		if slot == nil && refusal == nil {
			b.Responder.Respond(tx, req, 480, "Temporarily Unavailable (Nothing Parked)")
			return
		}
	}
	if refusal != nil {
		reason := authz.DeniedReason(refusal)
		b.Log.Info("retrieve refused", "ext", cred.Ext, "orbit", orbit, "reason", reason)
		b.Responder.Respond(tx, req, 403, "Forbidden ("+reason+")")
		return
	}
	done := make(chan struct{})
	if !slot.c.Post(&retrieveEvent{req: req, tx: tx, cred: cred, orbit: slot.orbit, done: done}) {
		b.Responder.Respond(tx, req, 480, "Temporarily Unavailable (Nothing Parked At "+slot.orbit+")")
		return
	}
	<-done
}

// retrieved answers, in the parked call, an INVITE that takes it.
func (p *parkedCall) retrieved(ev *retrieveEvent) {
	c := p.c
	reject := func(code int, reason string) {
		c.Core.Responder.Respond(ev.tx, ev.req, code, reason)
		close(ev.done)
	}
	if !c.Idle() {
		reject(491, "Request Pending")
		return
	}
	sd, m, err := sdpneg.Parse(ev.req.Body())
	if err != nil {
		reject(488, "Not Acceptable Here (Offer Needed)")
		return
	}
	isA := p.leg == 0
	ans, _, err := sdpneg.Parse(c.Legs[p.leg].SDP) // the parked party's media, as the parker had it
	if err != nil || !sdpneg.KeepCommonFormats(ans, sd) {
		reject(488, "Not Acceptable Here")
		return
	}
	sdpneg.SendRecv(ans)
	joined := sdpneg.FirstVoiceSD(ans)
	org := sdpneg.Origin{ID: uint64(time.Now().UnixNano()&0x7fffffffffff) + 5}
	src := ev.req.Source()
	body, err := sdpneg.LegSDP(ans, &org, c.Core.MediaIP(src), c.Relay, leg.RelayLeg(isA))
	if err != nil {
		reject(488, "Not Acceptable Here")
		return
	}
	req := ev.req.Clone()
	req.To().Params.Add("tag", sip.GenerateTagN(16))
	d := c.Core.UASDialog(req)
	c.Core.Alias(d.CallID, c) // its ACK and requests come to this call
	*c.LegDialog(isA) = d
	c.Relay.SetPeer(leg.RelayLeg(isA), leg.PeerIP(d.Dest))
	ok200 := c.OKResponse(req, body, d.Contact)
	if err := ev.tx.Respond(ok200); err != nil {
		c.Log.Info("200 to the retrieving party not sent", "err", err)
		close(ev.done)
	} else {
		c.AwaitAck(req, call.Pending2xx{FromA: isA, Tx: ev.tx, Res: ok200, Done: ev.done})
	}
	c.Legs[p.leg].SDP, c.Legs[p.leg].Origin = body, org
	c.SetLegCodec(leg.RelayLeg(isA), joined)
	sdpneg.SetMedia(c.Relay, leg.RelayLeg(isA), m)
	c.Relay.SetHold(leg.RelayLeg(isA), m.Hold)
	who := call.Party{UserID: ev.cred.UserID, Num: ev.cred.Ext, Ext: ev.cred.Ext}
	if !isA {
		c.BTarget = &route.Target{UserID: who.UserID, Ext: who.Ext, Dest: src, Transport: d.Transport}
	}
	p.take(who, ev.cred, "retrieved", ev.req.Body())
}

// The events of call park run on the call they are posted to.

// HandleOn finds the park the INVITE takes the call from.
func (ev *retrieveEvent) HandleOn(c *call.Call) {
	p := parkedOn(c)
	if p == nil || p.orbit != ev.orbit || c.State != call.StAnswered {
		ev.CallOver(c)
		return
	}
	p.retrieved(ev)
}

// HandleOn runs the timer on its park, unless that park is over.
func (ev parkTimerEvent) HandleOn(c *call.Call) {
	if p := parkedOn(c); p == ev.p && c.State == call.StAnswered {
		p.onTimer(ev)
	}
}

// CallOver answers an INVITE that found the parked call over.
func (ev *retrieveEvent) CallOver(c *call.Call) {
	c.Core.Responder.Respond(ev.tx, ev.req, 480, "Temporarily Unavailable (Nothing Parked At "+ev.orbit+")")
	close(ev.done)
}
