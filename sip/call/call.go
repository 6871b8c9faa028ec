package call

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// callState is where a call is in its life.
type callState uint8

const (
	StRinging  callState = iota // B side invited, caller not answered
	StAnswered                  // 200 sent to the caller
	StEnded                     // both legs ended or ending
)

// Call is one call through the B2BUA, the CDR's unit: the story of its
// legs and its bridge over time, built from parts that know nothing of
// each other (the package doc lists them). The parts are embedded so that
// the features reach the legs, the dialer, the caller's INVITE and the CDR
// row directly (c.Legs, c.Ring, c.AReq, c.CDR); features act on the call
// through its legs, dialer and relay, and keep their state in rooms.
//
// One goroutine owns a call: its actor (run). Only the actor reads or
// writes the call's fields, its parts' included. A held call's actor
// parks, its goroutine gone, and the next event posted starts another
// (loop): the mailbox's lock hands the call from one to the next. Other
// goroutines (SIP handlers, transaction watchers, requests in flight)
// reach it only by posting events; what they may read is published for
// them whole and atomically (callRecord.sharedParties and Shown) or fixed
// before the call is filed in the call table (ID, AReq, relay), and the
// caller's INVITE handler only waits for AFinal to close.
type Call struct {
	Core *Core
	ID   string // Call-ID of leg A
	Log  *slog.Logger

	Mailbox // the actor's events

	WG        sync.WaitGroup // forks' watchers, the relay, requests in flight
	ReqCtx    context.Context
	reqCancel context.CancelFunc

	State callState

	callerTx   // leg A's INVITE transaction (callertx.go)
	calleeTx   // the forks toward the callee, where leg B is (calleetx.go)
	leg.Bridge // the legs on the relay (sip/leg)
	acks       // our 2xx waiting for their ACKs (pending.go)

	// Late: the caller's INVITE had no SDP (RFC 3261 §13.2.1). The forks
	// are invited without one, the answering callee's 2xx carries the
	// offer, passed to the caller in our 200, and the caller's ACK the
	// answer, passed to the callee in our ACK.
	Late bool
	// NeedAnswer: late, our 200 went with the offer, its ACK not yet.
	NeedAnswer bool
	BOffer     []byte // late: the callee's offer, for a refusing answer

	Caller *Credential  // who called, nil for a call from a trunk
	trunk  *trunk.Trunk // the trunk the call came from (inbound)
	Rt     *route.Route
	Env    *dial.Env // what the call's dialers need of it, made with the call

	callTimers // the ring time, the next thing due, the linger (calltimers.go)
	watched    // the fork transaction the actor reads itself (watch.go)

	callRecord          // the CDR row, the parties, what was shown (cdr.go)
	slots      []string // extensions holding a call slot (the call table's perExt)
	filed      []string // the Call-IDs the call table files the call under (callTable.file); under its Mu

	// XForks are the forks of features' own dialers (menu targets, park
	// ring-back, queue overflow).
	XForks []*dial.Fork
	// admission: which leg an in-dialog request names, the dialogs of
	// parties the call left (legadmit.go).
	admission
	outbox // BYEs, and requests to a party leaving the call (legmove.go)
	// methods passes the in-dialog requests no room took to the call's
	// handler of their method (dialogmethods.go).
	methods dialogMethods
	// Rooms are the features' states open on the call, asked at fixed
	// points (rooms.go).
	Rooms roomSet
}

// Events posted to a call.
type (
	cancelEvent struct{}
	AckEvent    struct {
		Req   *sip.Request
		FromA bool
		// before: req is a later request of the leg, which acknowledges
		// every 2xx with a lower CSeq.
		before bool
	}
	// ReqEvent is a BYE or re-INVITE; done is closed once it is answered.
	ReqEvent struct {
		Req   *sip.Request
		Tx    sip.ServerTransaction
		FromA bool
		Done  chan struct{}
	}
	relayEvent    struct{ err error }
	shutdownEvent struct{} // the server stops: the call ends
)

func NewCall(b *Core, req *sip.Request, tx sip.ServerTransaction, caller *Credential, trunk *trunk.Trunk) *Call {
	id := req.CallID().Value()
	aReq := req.Clone()
	aTag := sip.GenerateTagN(16)
	aReq.To().Params.Add("tag", aTag)
	log := b.Log.With("call_id", id)
	c := &Call{Core: b, ID: id, Log: log, Mailbox: NewMailbox(), Caller: caller, trunk: trunk,
		callerTx: callerTx{AReq: aReq, ATx: tx, AFinal: make(chan struct{}), userAgent: b.UserAgent,
			contactFor: b.ContactFor, log: log}}
	c.ReqCtx, c.reqCancel = context.WithCancel(context.Background())
	c.Bridge = leg.NewBridge(b.MediaIP, leg.Messenger{Ack: func(r *sip.Request) error { return b.Client.WriteRequest(r) },
		Refuse: b.Responder.Respond, Send: func(req *sip.Request, done func(*sip.Response, error, bool)) {
			c.WG.Go(func() {
				res, err := b.SendAndWait(c.ReqCtx, req)
				c.Post(bridgeDone(func(live bool) { done(res, err, live) }))
			})
		}, Accept: func(ri *leg.Incoming, body []byte, contact sip.ContactHeader, offer bool) {
			ok := c.OKResponse(ri.Req, body, contact)
			if err := ri.Tx.Respond(ok); err != nil {
				close(ri.Done)
				return
			}
			c.AwaitAck(ri.Req, Pending2xx{FromA: ri.FromA, Tx: ri.Tx, Res: ok, Done: ri.Done, Offer: offer})
		}}, log)
	c.calleeTx.client, c.calleeTx.log = b.Client, log
	c.acks = acks{log: log, userAgent: b.UserAgent, sendHeld: c.sendBye}
	c.Legs[0].Origin.ID = uint64(time.Now().UnixNano() & 0x7fffffffffff)
	c.Legs[1].Origin.ID = c.Legs[0].Origin.ID + 1
	c.CDR = directory.Call{SIPCallID: id, StartedAt: time.Now().UTC(), Node: b.Node}
	c.outbox = outbox{wg: &c.WG, send: b.SendAndWait, tell: c.Post, log: log,
		start: func(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
			return b.Client.TransactionRequest(ctx, req)
		}}
	c.admission = admission{core: b, callerInvite: aReq, trunk: trunk, log: log}
	c.methods = dialogMethods{bye: c.onBye, reinvite: c.onReinvite, refer: func(ev *ReqEvent) { b.TakeRefer(c, ev) },
		respond: b.Responder.Respond}
	c.callRecord.core, c.callRecord.hooks, c.callRecord.log = b, &b.Hooks, log
	// The call's dialer and each feature's share env; its relay is the
	// call's once open (beginOn).
	c.Env = &dial.Env{Client: b.Client, UserAgent: b.UserAgent, Log: log, Ctx: c.ReqCtx, WG: &c.WG,
		Post: c.Post, File: func(id string) { b.Alias(id, c) }, Contact: b.ContactFor, MediaIP: b.MediaIP,
		SendAndWait: b.SendAndWait, Hops: wire.HopLimit(aReq) - 1, Watch: c.watch}
	return c
}

// Begin routes the call and, when there is somewhere to ring, starts its
// actor. It answers the caller itself and returns false when the call goes
// no further.
func (c *Call) Begin() bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	rt, ref := c.Core.Route(ctx, c.Caller, c.AReq)
	cancel()
	return c.BeginOn(rt, ref)
}

// BeginOn is begin on a route made elsewhere (a feature's, such as
// intercom's); ref is its refusal, if any.
func (c *Call) BeginOn(rt *route.Route, ref *route.Refusal) bool {
	b := c.Core
	c.Rt = rt
	c.Routed(rt)
	// The call is answered by the PBX itself (p.ans) or rings targets.
	c.Late = len(c.AReq.Body()) == 0
	p, ref := b.plan(c, rt, ref)
	if ref != nil {
		return c.refuse(ref)
	}
	relay, err := newRelay(b, c.Log)
	if err != nil {
		return c.refuse(&route.Refusal{Code: 503, Reason: "Service Unavailable", Disp: directory.Failed, Why: "no rtp ports", Err: err})
	}
	c.Relay, c.Env.Relay = relay, relay
	c.Ring = dial.Dialer{Env: c.Env, OnResponse: c.onResponse, OnFailed: c.ForkFailed, Spare: p.spare, Late: c.Late, Source: c.AReq.Body(),
		Parsed: p.offerSD, Origin: &c.Legs[1].Origin, Leg: media.LegB}
	c.OpenA(c.AReq.Source(), p.offer)
	if !c.Late && p.ans == nil {
		if err := c.Ring.Address(p.targets[0].Dest); err != nil {
			return c.refuse(&route.Refusal{Code: 488, Reason: "Not Acceptable Here", Disp: directory.Failed, Why: "bad sdp offer"})
		}
		c.Legs[1].SDP = c.Ring.Offer
	}
	if err := b.add(c); errors.Is(err, errLoop) {
		relay.Close()
		c.RespondA(482, "Loop Detected", nil)
		return false
	} else if err != nil {
		return c.refuse(&route.Refusal{Code: 503, Reason: "Service Unavailable", Disp: directory.Failed, Why: "shutting down"})
	}
	b.Take(c, append([]string{c.CallerExt()}, dial.Exts(p.targets)...)...) // "" from a trunk: no slot
	c.watchCancel(func() { c.Post(cancelEvent{}) })
	// The relay runs on its poller and timer, holding no goroutine of the
	// call's: it posts why it stopped, and teardown waits for that.
	c.WG.Add(1)
	if err := relay.Start(b.Ctx, func(err error) { c.Post(relayEvent{err}); c.WG.Done() }); err != nil {
		c.WG.Done() // closed already: there is nothing to wait for
	}
	if p.ans != nil {
		p.ans.AnswerCall(c)
	} else {
		c.Ring.DialAll(rt, p.targets)
		c.routeDelay()
	}
	go c.run()
	return true
}

// newRelay opens the media relay of a call: its ports from the PBX's
// pool, on its media address, with its media timeouts.
func newRelay(b *Core, log *slog.Logger) (*media.Relay, error) {
	mip := b.Config.MediaIP
	if !mip.IsValid() {
		mip = netip.IPv4Unspecified()
	}
	return media.NewRelay(media.RelayConfig{Pool: b.Pool, IP: mip,
		Timeout: max(b.Config.MediaTimeout, 0), HoldTimeout: max(b.Config.MediaHoldTimeout, 0), Logger: log})
}

// refuse answers the caller with a final error before any call exists,
// writes the attempt's CDR row and closes the relay if open; it returns
// begin's false.
func (c *Call) refuse(r *route.Refusal) bool {
	if c.Relay != nil {
		c.Relay.Close()
	}
	c.logRefusal(r)
	c.RespondA(r.Code, r.Reason, nil)
	c.refused(r)
	return false
}

// run is the call's actor.
func (c *Call) run() {
	c.startTimers(c.RingDuration())
	c.stopShutdown = context.AfterFunc(c.Core.Ctx, func() { c.Post(shutdownEvent{}) })
	c.ForkFailed(nil) // every fork failed before the actor ran
	c.syncLegs()
	c.schedule()
	c.loop()
}

// loop is the actor's goroutine: it handles the call's events until the
// call is over, or parks while the call waits on nothing but events (an
// answered call held) and returns, to be run anew by the next event.
func (c *Call) loop() {
	for !c.finished() {
		if c.idle() {
			// Stopped before the park: once parked, the call is the
			// next goroutine's. Nothing is due, so it is stopped for
			// nothing if events came meanwhile.
			c.due.Stop()
			if c.park(c.resume) {
				return
			}
		}
		responses, ended := c.watchChans()
		select {
		case <-c.Wake:
			for _, ev := range c.TakeEvents() {
				c.handle(ev)
			}
		case res := <-responses:
			c.onWatched(res)
		case <-ended:
			c.watchedEnded()
		case <-c.ringTimer.C:
			if c.State == StRinging {
				c.Log.Info("no answer", "ring_time", c.Core.Config.RingTime)
				c.EndRinging(480, "Temporarily Unavailable", directory.NoAnswer, "system")
			}
		case <-c.due.C:
			c.onTimer()
			if c.State == StRinging && c.giveUpSilent(c.Core.Config.TrunkWait) {
				c.forksFailed() // on to the next trunk
			}
			c.Rooms.Expire()
		}
		c.syncLegs()
		c.schedule()
	}
	c.stopShutdown()
	c.unwatch()
	c.teardown()
	c.stopTimers()
	c.Core.WG.Done()
}

// resume runs the actor again after a park, on a goroutine a post
// started, labelled as the call side's goroutines are.
func (c *Call) resume() {
	pprof.SetGoroutineLabels(sideLabels)
	c.loop()
}

// SideLabel is the profiler label key that marks the goroutines of the
// call side (calls, their media, monitoring sessions), valued "call";
// goroutines inherit the labels of the one that started them, and a
// resumed actor takes them anew (sideLabels).
const SideLabel = "switchboard"

var sideLabels = pprof.WithLabels(context.Background(), pprof.Labels(SideLabel, "call"))

// idle reports whether the actor waits on nothing but its events: the
// call answered, no transaction of its own to read, no 2xx waiting for
// its ACK and nothing due (schedule).
func (c *Call) idle() bool {
	return c.State == StAnswered && c.watched.tx == nil && !c.acks.hasPending() && c.nextDue().IsZero()
}

// finished reports whether the actor may stop: the call ended, no 2xx
// waits for its ACK, and every fork has its final answer (or the linger
// time is up).
func (c *Call) finished() bool {
	if c.State != StEnded || c.acks.hasPending() {
		return false
	}
	return c.lingerOver() || !dial.Waiting(c.Ring.Forks) && !dial.Waiting(c.XForks) && !c.Rooms.ForksRinging()
}

// schedule wakes the actor at the next 2xx retransmission, silent
// trunk's end, room's deadline or linger end.
func (c *Call) schedule() { c.wakeAt(c.nextDue()) }

// nextDue is when the actor has something due next; zero for nothing.
func (c *Call) nextDue() time.Time {
	next := c.acks.next()
	if c.State == StRinging {
		next = earliest(next, c.trunkDeadline(c.Core.Config.TrunkWait))
	}
	next = earliest(next, c.Rooms.Deadline())
	if c.State == StEnded {
		next = earliest(next, c.Linger)
	}
	return next
}

// FeatureEvent is an event a feature posts to a call (or one call to
// another) and handles itself, on the call's goroutine.
type FeatureEvent interface {
	HandleOn(c *Call)
}

// EndedEvent is a featureEvent that still needs an answer when it finds
// the call over: callOver gives it, on the call's goroutine as it ends.
type EndedEvent interface {
	CallOver(c *Call)
}

// handle runs one event on the call's goroutine.
func (c *Call) handle(ev any) {
	switch ev := ev.(type) {
	case dial.Event: // to whoever rang: the call's own dialer, or a feature's
		ev.Deliver(c.Log)
	case cancelEvent: // after our 200 (crossing it), the caller ACKs and hangs up
		if c.State == StRinging {
			c.AAnswered = true // sipgo answered 487
			c.Log.Info("call cancelled by caller")
			c.EndRinging(0, "", directory.Cancelled, "caller")
		}
	case *AckEvent:
		// Dropped when not a leg's: a stranger's, the ACK of a dialog the
		// call left, or of a challenge sent statelessly before the call.
		var ok bool
		if ev.FromA, ok = c.admitted(ev.Req, &c.Legs, c.Parties, c.CallerExt()); ok {
			c.onAck(ev)
		}
	case *ReqEvent:
		if c.admitRequest(ev, &c.Legs, c.Parties, c.CallerExt()) && !c.Rooms.TakeRequest(ev) {
			c.methods.dispatch(ev)
		}
	case bridgeDone:
		ev(c.State == StAnswered)
	case FeatureEvent:
		ev.HandleOn(c)
	case shutdownEvent:
		c.Hangup("system", "shutdown")
		c.Linger = time.Now()
	case relayEvent:
		if errors.Is(ev.err, media.ErrTimeout) && c.State == StAnswered {
			c.Log.Info("media timeout; hanging up", "err", ev.err)
			c.Hangup("system", "media timeout")
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
