package sip

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// callState is where a call is in its life.
type callState uint8

const (
	stRinging  callState = iota // B side invited, caller not answered
	stAnswered                  // 200 sent to the caller
	stEnded                     // both legs ended or ending
)

// call is one call through the B2BUA, the CDR's unit: the story of its
// legs and its bridge over time. It is built from parts, each a type that
// knows nothing of the others:
//   - callerTx (callertx.go): the caller's INVITE transaction, until our
//     final response, and what the caller heard before it (ringing, a
//     fork's early media);
//   - calleeTx (calleetx.go): the dialer ringing the callee's phones or
//     the trunk, where leg B is and the ACK of the answering fork's 2xx;
//   - leg.Bridge (sip/leg): the two legs (leg.Leg: a dialog,
//     its SDP origin, the last SDP we sent on it) joined on the media
//     relay, their codecs, and its re-INVITEs on the legs: one passing
//     from one leg to the other, ours taking a party off hold;
//   - acks (pending.go): our 2xx, resent until their ACKs come, and the
//     BYEs that wait for them;
//   - admission (legadmit.go): which leg's dialog (or, before the answer,
//     the caller's early dialog) and peer an in-dialog request names, and
//     the dialogs of the parties the call left;
//   - outbox (legmove.go): the BYEs, and the requests to a party leaving
//     the call, one after the other;
//   - callRecord (cdr.go, active.go, legstates.go): the CDR row, who is on
//     each leg, what the dashboard and the busy lamps were told;
//   - callTimers (calltimers.go): the ring time, the actor's next wake-up
//     and how long an ended call waits for its forks.
//
// The call's own methods run its life (call.go, with the b2bua's plan in
// callplan.go), its ringing (ringing.go), its answer (answer.go), the
// gate of the re-INVITEs (reinvite.go), its end (hangup.go) and a leg
// changing hands (legmove.go): they ask the parts and join what the parts
// say, handing a part what it needs of another as arguments or functions.
// The parts are embedded so that the features reach the legs, the dialer,
// the caller's INVITE and the CDR row directly (c.Legs, c.ring, c.aReq,
// c.cdr). Features act on the call through its legs, dialer and relay,
// and keep their state in rooms (rooms.go).
//
// One goroutine owns a call: its actor (run). Only the actor reads or
// writes the call's fields, its parts' included. Other goroutines (SIP
// handlers, transaction watchers, requests in flight) reach it only by
// posting events; what they may read is published for them whole and
// atomically (callRecord.legs and shown, calleeTx.ackTmpl) or fixed before
// the call is filed in the call table (id, aReq, relay), and the caller's
// INVITE handler only waits for aFinal to close.
type call struct {
	b   *core
	id  string // Call-ID of leg A
	log *slog.Logger

	mailbox // the actor's events

	wg        sync.WaitGroup // forks' watchers, the relay, requests in flight
	reqCtx    context.Context
	reqCancel context.CancelFunc

	state callState

	callerTx   // leg A's INVITE transaction (callertx.go)
	calleeTx   // the forks toward the callee, where leg B is (calleetx.go)
	leg.Bridge // the legs on the relay (sip/leg)
	acks       // our 2xx waiting for their ACKs (pending.go)

	// late: the caller's INVITE had no SDP (RFC 3261 §13.2.1). The forks
	// are invited without one, the answering callee's 2xx carries the
	// offer, passed to the caller in our 200, and the caller's ACK the
	// answer, passed to the callee in our ACK.
	late bool
	// needAnswer: late, our 200 went with the offer, its ACK not yet.
	needAnswer bool
	bOffer     []byte // late: the callee's offer, for a refusing answer

	caller *credential // who called, nil for a call from a trunk
	trunk  *Trunk      // the trunk the call came from (inbound)
	rt     *route.Route
	env    *dial.Env // what the call's dialers need of it, made with the call

	callTimers // the ring time, the next thing due, the linger (calltimers.go)

	callRecord          // the CDR row, the parties, what was shown (cdr.go)
	slots      []string // extensions holding a call slot (b2bua.perExt)

	// xforks are the forks of features' own dialers (menu targets, park
	// ring-back, queue overflow).
	xforks []*dial.Fork
	// admission: which leg an in-dialog request names, the dialogs of
	// parties the call left (legadmit.go).
	admission
	outbox // BYEs, and requests to a party leaving the call (legmove.go)
	// methods passes the in-dialog requests no room took to the call's
	// handler of their method (dialogmethods.go).
	methods dialogMethods
	// rooms are the features' states open on the call, asked at fixed
	// points (rooms.go).
	rooms roomSet
}

// Events posted to a call.
type (
	cancelEvent struct{}
	ackEvent    struct {
		req   *sip.Request
		fromA bool
		// before: req is a later request of the leg, which acknowledges
		// every 2xx with a lower CSeq.
		before bool
	}
	// reqEvent is a BYE or re-INVITE; done is closed once it is answered.
	reqEvent struct {
		req   *sip.Request
		tx    sip.ServerTransaction
		fromA bool
		done  chan struct{}
	}
	relayEvent struct{ err error }
)

func newCall(b *core, req *sip.Request, tx sip.ServerTransaction, caller *credential, trunk *Trunk) *call {
	id := req.CallID().Value()
	aReq := req.Clone()
	aTag := sip.GenerateTagN(16)
	aReq.To().Params.Add("tag", aTag)
	log := b.log.With("call_id", id)
	c := &call{b: b, id: id, log: log, mailbox: newMailbox(), caller: caller, trunk: trunk,
		callerTx: callerTx{aReq: aReq, aTx: tx, aFinal: make(chan struct{}), userAgent: b.UserAgent,
			contactFor: b.contactFor, log: log}}
	c.reqCtx, c.reqCancel = context.WithCancel(context.Background())
	c.Bridge = leg.NewBridge(b.mediaIP, leg.Messenger{Ack: func(r *sip.Request) error { return b.Client.WriteRequest(r) },
		Refuse: b.Responder.Respond, Send: func(req *sip.Request, done func(*sip.Response, error, bool)) {
			c.wg.Go(func() {
				res, err := b.sendAndWait(c.reqCtx, req)
				c.post(bridgeDone(func(live bool) { done(res, err, live) }))
			})
		}, Accept: func(ri *leg.Incoming, body []byte, contact sip.ContactHeader, offer bool) {
			ok := c.okResponse(ri.Req, body, contact)
			if err := ri.Tx.Respond(ok); err != nil {
				close(ri.Done)
				return
			}
			c.awaitAck(ri.Req, pending2xx{fromA: ri.FromA, tx: ri.Tx, res: ok, done: ri.Done, offer: offer})
		}}, log)
	c.calleeTx.client, c.calleeTx.log = b.Client, log
	c.acks = acks{log: log, userAgent: b.UserAgent, sendHeld: c.byeOffActor}
	c.Legs[0].Origin.ID = uint64(time.Now().UnixNano() & 0x7fffffffffff)
	c.Legs[1].Origin.ID = c.Legs[0].Origin.ID + 1
	c.cdr = directory.Call{SIPCallID: id, StartedAt: time.Now().UTC(), Node: b.Node}
	c.outbox = outbox{wg: &c.wg, send: b.sendAndWait, tell: c.post, log: log}
	c.admission = admission{core: b, callerInvite: aReq, trunk: trunk, log: log}
	c.methods = dialogMethods{bye: c.onBye, reinvite: c.onReinvite, refer: func(ev *reqEvent) { b.takeRefer(c, ev) },
		respond: b.Responder.Respond}
	c.callRecord.core, c.callRecord.hooks, c.callRecord.log = b, &b.hooks, log
	// The call's dialer and each feature's share env; its relay is the
	// call's once open (beginOn).
	c.env = &dial.Env{Client: b.Client, UserAgent: b.UserAgent, Log: log, Ctx: c.reqCtx, WG: &c.wg,
		Post: c.post, File: func(id string) { b.alias(id, c) }, Contact: b.contactFor, MediaIP: b.mediaIP,
		SendAndWait: b.sendAndWait, Hops: wire.HopLimit(aReq) - 1}
	return c
}

// begin routes the call and, when there is somewhere to ring, starts its
// actor. It answers the caller itself and returns false when the call goes
// no further.
func (c *call) begin() bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.b.StoreTimeout)
	rt, ref := c.b.Route(ctx, c.caller, c.aReq)
	cancel()
	return c.beginOn(rt, ref)
}

// beginOn is begin on a route made elsewhere (a feature's, such as
// intercom's); ref is its refusal, if any.
func (c *call) beginOn(rt *route.Route, ref *route.Refusal) bool {
	b := c.b
	c.rt = rt
	c.routed(rt)
	// The call is answered by the PBX itself (p.ans) or rings targets.
	c.late = len(c.aReq.Body()) == 0
	p, ref := b.plan(c, rt, ref)
	if ref != nil {
		return c.refuse(ref)
	}
	relay, err := newRelay(b, c.log)
	if err != nil {
		return c.refuse(&route.Refusal{Code: 503, Reason: "Service Unavailable", Disp: directory.Failed, Why: "no rtp ports", Err: err})
	}
	c.Relay, c.env.Relay = relay, relay
	c.ring = dial.Dialer{Env: c.env, OnResponse: c.onResponse, OnFailed: c.forkFailed, Spare: p.spare, Late: c.late, Source: c.aReq.Body(), Origin: &c.Legs[1].Origin,
		Leg: media.LegB}
	c.OpenA(c.aReq.Source(), p.offer)
	if !c.late && p.ans == nil {
		if err := c.ring.Address(p.targets[0].Dest); err != nil {
			return c.refuse(&route.Refusal{Code: 488, Reason: "Not Acceptable Here", Disp: directory.Failed, Why: "bad sdp offer"})
		}
		c.Legs[1].SDP = c.ring.Offer
	}
	if err := b.add(c); errors.Is(err, errLoop) {
		relay.Close()
		c.respondA(482, "Loop Detected", nil)
		return false
	} else if err != nil {
		return c.refuse(&route.Refusal{Code: 503, Reason: "Service Unavailable", Disp: directory.Failed, Why: "shutting down"})
	}
	b.take(c, append([]string{c.callerExt()}, dial.Exts(p.targets)...)...) // "" from a trunk: no slot
	c.watchCancel(func() { c.post(cancelEvent{}) })
	c.wg.Go(func() { c.post(relayEvent{relay.Run(b.ctx)}) })
	if p.ans != nil {
		p.ans.answerCall(c)
	} else {
		c.ring.DialAll(rt, p.targets)
	}
	go c.run()
	return true
}

// newRelay opens the media relay of a call: its ports from the PBX's
// pool, on its media address, with its media timeouts.
func newRelay(b *core, log *slog.Logger) (*media.Relay, error) {
	mip := b.cfg.MediaIP
	if !mip.IsValid() {
		mip = netip.IPv4Unspecified()
	}
	return media.NewRelay(media.RelayConfig{Pool: b.pool, IP: mip,
		Timeout: max(b.cfg.MediaTimeout, 0), HoldTimeout: max(b.cfg.MediaHoldTimeout, 0), Logger: log})
}

// refuse answers the caller with a final error before any call exists,
// writes the attempt's CDR row and closes the relay if open; it returns
// begin's false.
func (c *call) refuse(r *route.Refusal) bool {
	if c.Relay != nil {
		c.Relay.Close()
	}
	c.logRefusal(r)
	c.respondA(r.Code, r.Reason, nil)
	c.refused(r)
	return false
}

// run is the call's actor.
func (c *call) run() {
	defer c.b.wg.Done()
	c.startTimers(c.ringDuration())
	defer c.stopTimers()
	shutdown := c.b.ctx.Done()
	c.forkFailed(nil) // every fork failed before the actor ran
	c.syncLegs()
	c.schedule()
	for !c.finished() {
		select {
		case <-c.wake:
			for _, ev := range c.takeEvents() {
				c.handle(ev)
			}
		case <-c.ringTimer.C:
			if c.state == stRinging {
				c.log.Info("no answer", "ring_time", c.b.cfg.RingTime)
				c.endRinging(480, "Temporarily Unavailable", directory.NoAnswer, "system")
			}
		case <-c.due.C:
			c.onTimer()
			if c.state == stRinging && c.giveUpSilent(c.b.cfg.TrunkWait) {
				c.forksFailed() // on to the next trunk
			}
			c.rooms.expire()
		case <-shutdown:
			shutdown = nil
			c.hangup("system", "shutdown")
			c.linger = time.Now()
		}
		c.syncLegs()
		c.schedule()
	}
	c.teardown()
}

// finished reports whether the actor may stop: the call ended, no 2xx
// waits for its ACK, and every fork has its final answer (or the linger
// time is up).
func (c *call) finished() bool {
	if c.state != stEnded || c.acks.hasPending() {
		return false
	}
	return c.lingerOver() || !dial.Waiting(c.ring.Forks) && !dial.Waiting(c.xforks) && !c.rooms.forksRinging()
}

// schedule wakes the actor at the next 2xx retransmission, silent
// trunk's end, room's deadline or linger end.
func (c *call) schedule() {
	next := c.acks.next()
	if c.state == stRinging {
		next = earliest(next, c.trunkDeadline(c.b.cfg.TrunkWait))
	}
	next = earliest(next, c.rooms.deadline())
	if c.state == stEnded {
		next = earliest(next, c.linger)
	}
	c.wakeAt(next)
}

// featureEvent is an event a feature posts to a call (or one call to
// another) and handles itself, on the call's goroutine.
type featureEvent interface {
	handleOn(c *call)
}

// endedEvent is a featureEvent that still needs an answer when it finds
// the call over: callOver gives it, on the call's goroutine as it ends.
type endedEvent interface {
	callOver(c *call)
}

// handle runs one event on the call's goroutine.
func (c *call) handle(ev any) {
	switch ev := ev.(type) {
	case dial.Event: // to whoever rang: the call's own dialer, or a feature's
		ev.Deliver(c.log)
	case cancelEvent: // after our 200 (crossing it), the caller ACKs and hangs up
		if c.state == stRinging {
			c.aAnswered = true // sipgo answered 487
			c.log.Info("call cancelled by caller")
			c.endRinging(0, "", directory.Cancelled, "caller")
		}
	case *ackEvent:
		// Dropped when not a leg's: a stranger's, the ACK of a dialog the
		// call left, or of a challenge sent statelessly before the call.
		var ok bool
		if ev.fromA, ok = c.admitted(ev.req, &c.Legs, c.parties, c.callerExt()); ok {
			c.onAck(ev)
		}
	case *reqEvent:
		if c.admitRequest(ev, &c.Legs, c.parties, c.callerExt()) && !c.rooms.takeRequest(ev) {
			c.methods.dispatch(ev)
		}
	case bridgeDone:
		ev(c.state == stAnswered)
	case featureEvent:
		ev.handleOn(c)
	case relayEvent:
		if errors.Is(ev.err, media.ErrTimeout) && c.state == stAnswered {
			c.log.Info("media timeout; hanging up", "err", ev.err)
			c.hangup("system", "media timeout")
		}
	}
}

// earliest is the earlier of a and b, where zero is no time.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
