package sip

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// callState is where a call is in its life.
type callState uint8

const (
	stRinging  callState = iota // B side invited, caller not answered
	stAnswered                  // 200 sent to the caller
	stEnded                     // both legs ended or ending
)

// byeTimeout bounds a BYE or CANCEL we send at the end of a call.
const byeTimeout = 4 * time.Second

// call is one call through the B2BUA: the caller's dialog (leg A), the
// INVITEs sent to the callee's contacts or the trunk (forks), the dialog of
// the fork that answered (leg B) and the media relay between them. Only its
// own goroutine (run) touches its state; SIP handlers post events.
type call struct {
	b   *b2bua
	id  string // Call-ID of leg A
	log *slog.Logger

	// The event queue: unbounded, so that posting never blocks a handler.
	mu     sync.Mutex
	queue  []any
	closed bool
	wake   chan struct{}

	wg        sync.WaitGroup // forks' watchers, the relay, requests in flight
	reqCtx    context.Context
	reqCancel context.CancelFunc

	state callState

	// Leg A.
	aReq      *sip.Request // the caller's INVITE with our To-tag
	aTx       sip.ServerTransaction
	aFinal    chan struct{} // closed once onInvite may return
	aAnswered bool          // a final response went to the caller (or sipgo's 487)
	ringSent  bool
	earlySent bool
	a         dialog
	aOrigin   origin
	aSDP      []byte // the last SDP we sent to A
	aWarning  string // a Warning header for our final error response to A
	// codecs: the voice codec the phones of leg A and leg B use, as far as
	// known; the relay transcodes when they differ (codecs.go).
	codecs [2]sdpCodec

	// late: the caller's INVITE had no SDP (RFC 3261 §13.2.1). The forks
	// are invited without one, the answering callee's 2xx carries the
	// offer, passed to the caller in our 200, and the caller's ACK the
	// answer, passed to the callee in our ACK.
	late bool
	// needAnswer: late, our 200 went with the offer, its ACK not yet.
	needAnswer bool

	// Leg B.
	caller  *credential
	trunk   *Trunk // the trunk the call came from (inbound)
	rt      *route
	offer   []byte     // the offer sent to every fork; nil when late
	offerIP netip.Addr // the media address in offer
	forks   []*fork
	spare   []target // trunks not tried yet (route.failover)
	won     *fork
	// bTarget is where leg B is now: won's target, or a transfer's.
	bTarget *target
	// legs is a copy of parties for other goroutines (monitoring): nil
	// until the call is answered.
	legs atomic.Pointer[[2]party]
	// bAcked: the ACK of the winning fork's 2xx went; ackTmpl is that ACK,
	// sent again on each retransmission of the 2xx (from sipgo's goroutine).
	bAcked  bool
	ackTmpl atomic.Pointer[sip.Request]
	bOffer  []byte // late: the callee's offer, for a refusing answer
	bDlg    dialog
	bOrigin origin
	bSDP    []byte // the last SDP we sent to B
	early   []byte // early-media SDP of the fork that sent one

	relay   *media.Relay
	pending []*pending2xx // 2xx we retransmit until ACKed
	reinv   *reinvite     // our re-INVITE toward one leg, in flight

	ringTimer *time.Timer
	retrans   *time.Timer
	linger    time.Time // when ending: give the forks until then

	cdr   directory.Call
	slots []string // extensions holding a call slot (b2bua.perExt)

	legSeen map[string]legSeen // leg events raised, by leg (legevents_call.go)

	recording *callRecording // nil when the call is not recorded

	// Blind transfer (transfer.go).
	xfer        *xfer         // the transfer in progress, nil when none
	xforks      []*fork       // every fork a transfer started
	gone        []dialog      // dialogs of transferors the call left
	transferred bool          // a transfer completed: legs are told by dialog
	parties     [2]party      // who is on leg A and leg B, once answered
	callerLeg   int           // the leg of the CDR row's caller (0: A)
	refers      int           // REFERs accepted, for the Event id
	chain       chan struct{} // the last request of sendInOrder is done
	unhold      bool          // our re-INVITE taking the transferee off hold is out
	// shown is who the call is between once a transfer changed it, for
	// ActiveCalls; nil until then.
	shown atomic.Pointer[activeView]
}

// fork is one INVITE of the B side.
type fork struct {
	t         target
	req       *sip.Request
	tx        sip.ClientTransaction
	final     *sip.Response
	provis    bool // a provisional response came: CANCEL may be sent
	sent      time.Time
	responded bool // any response came, a 100 Trying too
	cancelled bool
	authTried bool
	xfer      bool // a transfer's INVITE to its target
}

// pending2xx is a 2xx we sent for an INVITE, resent until its ACK.
type pending2xx struct {
	fromA    bool
	tx       sip.ServerTransaction
	res      *sip.Response
	cseq     uint32
	done     chan struct{} // closed once ACKed or given up
	next     time.Time
	interval time.Duration
	deadline time.Time
	initial  bool
	reliable bool // TCP: no retransmission, only the wait for the ACK
	// offer: the 2xx carried our offer (its INVITE had none), so the ACK
	// carries the answer.
	offer bool
}

// reinvite is a re-INVITE from one leg, passed to the other.
type reinvite struct {
	ev *reqEvent
}

// Events posted to a call.
type (
	resEvent struct {
		f   *fork
		tx  sip.ClientTransaction
		res *sip.Response
	}
	txDoneEvent struct {
		f   *fork
		tx  sip.ClientTransaction
		err error
	}
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
	reinviteResult struct {
		res *sip.Response
		err error
	}
	relayEvent struct{ err error }
)

func newCall(b *b2bua, req *sip.Request, tx sip.ServerTransaction, caller *credential, trunk *Trunk) *call {
	id := req.CallID().Value()
	aReq := req.Clone()
	aTag := sip.GenerateTagN(16)
	aReq.To().Params.Add("tag", aTag)
	c := &call{b: b, id: id, log: b.log.With("call_id", id), wake: make(chan struct{}, 1),
		aReq: aReq, aTx: tx, aFinal: make(chan struct{}), caller: caller, trunk: trunk}
	c.reqCtx, c.reqCancel = context.WithCancel(context.Background())
	c.aOrigin.id = uint64(time.Now().UnixNano() & 0x7fffffffffff)
	c.bOrigin.id = c.aOrigin.id + 1
	c.cdr = directory.Call{SIPCallID: id, StartedAt: time.Now().UTC(), Node: b.s.cfg.Node}
	return c
}

// post queues an event for the call; false when the call is over.
func (c *call) post(ev any) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, ev)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *call) takeEvents() []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// start routes the call and, when there is somewhere to ring, starts its
// actor. It answers the caller itself and returns false when the call goes
// no further.
func (c *call) start() bool {
	b := c.b
	ctx, cancel := context.WithTimeout(context.Background(), b.s.cfg.StoreTimeout)
	rt, ref := b.route(ctx, c.caller, c.trunk, c.aReq)
	cancel()
	c.rt = rt
	c.fillCDR()
	if ref != nil {
		c.refuse(ref)
		return false
	}
	var sd *sdp.SessionDescription
	var m sdpMedia
	c.late = len(c.aReq.Body()) == 0
	if !c.late {
		var err error
		if sd, m, err = parseSDP(c.aReq.Body()); err != nil {
			c.log.Info("call refused: bad sdp", "err", err)
			c.refuse(&refusal{488, "Not Acceptable Here", directory.Failed, "bad sdp offer", nil})
			return false
		}
	}
	if c.caller != nil {
		if b.busy(c.caller.Ext) {
			c.refuse(&refusal{403, "Forbidden (Too Many Calls)", directory.Failed, "caller call limit", nil})
			return false
		}
	}
	var targets []target
	for _, t := range rt.targets {
		if t.ext != "" && b.busy(t.ext) {
			continue
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		c.refuse(&refusal{486, "Busy Here", directory.Busy, "callee call limit", nil})
		return false
	}
	if rt.failover && len(targets) > 1 {
		targets, c.spare = targets[:1], targets[1:]
	}
	mip := b.cfg.MediaIP
	if !mip.IsValid() {
		mip = netip.IPv4Unspecified()
	}
	relay, err := media.NewRelay(media.RelayConfig{Pool: b.pool, IP: mip,
		Timeout: max(b.cfg.MediaTimeout, 0), HoldTimeout: max(b.cfg.MediaHoldTimeout, 0), Logger: c.log})
	if err != nil {
		c.log.Warn("call refused: no rtp ports", "err", err)
		c.refuse(&refusal{503, "Service Unavailable", directory.Failed, "no rtp ports", nil})
		return false
	}
	c.relay = relay
	relay.SetPeer(media.LegA, peerIP(c.aReq.Source()))
	if !c.late {
		setMedia(relay, media.LegA, m)
		relay.SetHold(media.LegA, m.hold)
		c.offerIP = b.mediaIP(targets[0].dest)
		widenOffer(sd)
		c.offer, err = rewriteSDP(sd, &c.bOrigin, c.offerIP, relay.Local(media.LegB).Port())
		if err != nil {
			relay.Close()
			c.refuse(&refusal{488, "Not Acceptable Here", directory.Failed, "bad sdp offer", nil})
			return false
		}
		c.bSDP = c.offer
	}
	if err := b.add(c); err != nil {
		relay.Close()
		if errors.Is(err, errLoop) {
			b.s.respond(c.aTx, c.aReq, 482, "Loop Detected")
			return false
		}
		c.refuse(&refusal{503, "Service Unavailable", directory.Failed, "shutting down", nil})
		return false
	}
	exts := []string{}
	if c.caller != nil {
		exts = append(exts, c.caller.Ext)
	}
	for _, t := range targets {
		exts = append(exts, t.ext)
	}
	b.take(c, exts...)

	// The caller's CANCEL reaches us through the transaction: sipgo has
	// already answered it 200 and the INVITE 487.
	if !c.aTx.OnCancel(func(*sip.Request) { c.post(cancelEvent{}) }) {
		c.aAnswered = true // the transaction is gone already
	}
	c.wg.Go(func() {
		err := relay.Run(b.ctx)
		c.post(relayEvent{err})
	})
	for _, t := range targets {
		c.invite(t)
	}
	c.callerRinging() // leg event
	go c.run()
	return true
}

// refuse answers the caller with a final error before any call exists and
// writes the attempt's CDR row.
func (c *call) refuse(r *refusal) {
	if r.err != nil {
		c.log.Warn("call refused", "code", r.code, "why", r.why, "err", r.err)
	} else {
		c.log.Info("call refused", "code", r.code, "why", r.why)
	}
	res := sip.NewResponseFromRequest(c.aReq, r.code, r.reason, nil)
	res.AppendHeader(sip.NewHeader("Server", c.b.s.cfg.UserAgent))
	c.b.s.send(c.aTx, res)
	c.cdr.Disposition = r.disp
	c.cdr.Reason = r.why
	c.cdr.HangupBy = "system"
	c.cdr.EndedAt = time.Now().UTC()
	c.writeCDR()
}

// invite sends the INVITE of one fork.
func (c *call) invite(t target) {
	req := c.buildInvite(t, c.rt, c.offer)
	f := &fork{t: t, req: req}
	c.forks = append(c.forks, f)
	c.b.alias(req.CallID().Value(), c)
	c.send(f)
	c.forkRinging(f) // leg event
}

// buildInvite builds the INVITE of a fork to t on route rt, with offer
// (none when nil).
func (c *call) buildInvite(t target, rt *route, offer []byte) *sip.Request {
	b := c.b
	req := sip.NewRequest(sip.INVITE, t.uri)
	fromUser := rt.fromUser
	if t.fromUser != "" {
		fromUser = t.fromUser
	}
	from := &sip.FromHeader{DisplayName: rt.fromName,
		Address: sip.Uri{Scheme: "sip", User: fromUser, Host: t.domain},
		Params:  sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}}
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: t.toUser, Host: t.domain}})
	for _, r := range t.route {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	applyIdentity(req, t)
	cid := sip.CallIDHeader(sip.GenerateTagN(24) + "@switchboard")
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(hopLimit(c.aReq) - 1)
	req.AppendHeader(&mf)
	ct := b.contactFor(t.dest, t.transport)
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("User-Agent", b.s.cfg.UserAgent))
	req.AppendHeader(sip.NewHeader("Allow", callAllowed))
	if offer != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(offer)
	}
	req.SetTransport(t.transport)
	req.SetDestination(t.dest)
	return req
}

// callAllowed is the Allow header of the call side.
const callAllowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER"

// send starts (or restarts, after a challenge) a fork's transaction and
// its watcher.
func (c *call) send(f *fork) {
	tx, err := c.b.s.client.TransactionRequest(c.reqCtx, f.req)
	if err != nil {
		c.log.Info("invite not sent", "dest", f.t.dest, "err", err)
		f.final = sip.NewResponseFromRequest(f.req, 503, "Service Unavailable", nil)
		return
	}
	f.tx, f.sent, f.responded = tx, time.Now(), false
	c.wg.Go(func() {
		for {
			select {
			case res := <-tx.Responses():
				c.post(&resEvent{f: f, tx: tx, res: res})
			case <-tx.Done():
				c.post(&txDoneEvent{f: f, tx: tx, err: tx.Err()})
				return
			}
		}
	})
}

// run is the call's actor.
func (c *call) run() {
	defer c.b.wg.Done()
	c.ringTimer = time.NewTimer(c.ringTime())
	c.retrans = time.NewTimer(time.Hour)
	defer c.ringTimer.Stop()
	defer c.retrans.Stop()
	shutdown := c.b.ctx.Done()
	if c.allForksFailed() {
		c.forksFailed()
	}
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
		case <-c.retrans.C:
			c.onTimer()
			c.trunkTimeout()
			c.xferTimeout()
		case <-shutdown:
			shutdown = nil
			c.hangup("system", "shutdown")
			c.linger = time.Now()
		}
		c.schedule()
	}
	c.teardown()
}

// finished reports whether the actor may stop: the call ended, no 2xx
// waits for its ACK, and every fork has its final answer (or the linger
// time is up).
func (c *call) finished() bool {
	if c.state != stEnded || len(c.pending) > 0 {
		return false
	}
	if !c.linger.IsZero() && !time.Now().Before(c.linger) {
		return true
	}
	for _, f := range c.forks {
		if f.final == nil && f.tx != nil {
			return false
		}
	}
	for _, f := range c.xforks {
		if f.final == nil && f.tx != nil {
			return false
		}
	}
	return true
}

// schedule sets the timer to the next 2xx retransmission or linger end.
func (c *call) schedule() {
	var next time.Time
	for _, p := range c.pending {
		t := p.deadline
		if !p.reliable && p.next.Before(t) {
			t = p.next
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if f := c.silentTrunk(); f != nil {
		if t := f.sent.Add(c.b.cfg.TrunkWait); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if x := c.xfer; x != nil && (next.IsZero() || x.deadline.Before(next)) {
		next = x.deadline
	}
	if c.state == stEnded && !c.linger.IsZero() && (next.IsZero() || c.linger.Before(next)) {
		next = c.linger
	}
	if next.IsZero() {
		return
	}
	if !c.retrans.Stop() {
		select {
		case <-c.retrans.C:
		default:
		}
	}
	c.retrans.Reset(max(time.Until(next), time.Millisecond))
}

func (c *call) onTimer() {
	now := time.Now()
	keep := c.pending[:0]
	for _, p := range c.pending {
		if !now.Before(p.deadline) {
			close(p.done)
			if p.initial {
				c.log.Info("no ack for our 200; hanging up")
				if c.state == stAnswered {
					c.hangup("system", "no ack")
				}
				c.closeAFinal()
			}
			continue
		}
		if !p.reliable && !now.Before(p.next) {
			if err := p.tx.Respond(p.res); err != nil {
				c.log.Debug("2xx retransmission failed", "err", err)
			}
			p.interval = min(2*p.interval, sip.T2)
			p.next = now.Add(p.interval)
		}
		keep = append(keep, p)
	}
	c.pending = keep
}

// silentTrunk returns the trunk fork that has sent nothing yet while
// another trunk could take the call, or nil.
func (c *call) silentTrunk() *fork {
	if c.state != stRinging || len(c.spare) == 0 || len(c.forks) == 0 {
		return nil
	}
	if f := c.forks[len(c.forks)-1]; f.final == nil && f.tx != nil && !f.responded {
		return f
	}
	return nil
}

// trunkTimeout gives up on a trunk silent for TrunkWait: the call goes to
// the next one.
func (c *call) trunkTimeout() {
	f := c.silentTrunk()
	if f == nil || time.Since(f.sent) < c.b.cfg.TrunkWait {
		return
	}
	c.log.Info("no response from trunk", "trunk", f.t.trunk.label(), "wait", c.b.cfg.TrunkWait)
	f.tx.Terminate()
	f.final = sip.NewResponseFromRequest(f.req, 408, "Request Timeout", nil)
	c.forksFailed()
}

func (c *call) handle(ev any) {
	switch ev := ev.(type) {
	case *resEvent:
		if ev.f.xfer {
			c.onXferResponse(ev.f, ev.tx, ev.res)
			return
		}
		c.onResponse(ev.f, ev.tx, ev.res)
	case *txDoneEvent:
		if ev.tx != ev.f.tx || ev.f.final != nil {
			return
		}
		if ev.f.xfer {
			ev.f.final = sip.NewResponseFromRequest(ev.f.req, 408, "Request Timeout", nil)
			c.xferForkFailed()
			return
		}
		c.log.Debug("fork got no final response", "dest", ev.f.t.dest, "err", ev.err)
		ev.f.final = sip.NewResponseFromRequest(ev.f.req, 408, "Request Timeout", nil)
		if c.state == stRinging && c.allForksFailed() {
			c.forksFailed()
		}
	case cancelEvent:
		if c.state != stRinging {
			return // the 200 crossed the CANCEL: the caller ACKs and hangs up
		}
		c.aAnswered = true // sipgo answered 487
		c.log.Info("call cancelled by caller")
		c.endRinging(0, "", directory.Cancelled, "caller")
	case *ackEvent:
		fromA, ok := c.admitted(ev.req)
		if !ok {
			// A stranger's, the ACK of a dialog the call left, or the ACK
			// of a challenge sent statelessly before the call existed.
			return
		}
		ev.fromA = fromA
		c.onAck(ev)
	case *reqEvent:
		if !c.admitRequest(ev) {
			return
		}
		switch ev.req.Method {
		case sip.BYE:
			c.onBye(ev)
		case sip.INVITE:
			c.onReinvite(ev)
		case sip.REFER:
			c.onRefer(ev)
		case sip.NOTIFY:
			c.b.s.respond(ev.tx, ev.req, 200, "OK")
			close(ev.done)
		default:
			c.b.s.respond(ev.tx, ev.req, 405, "Method Not Allowed")
			close(ev.done)
		}
	case *takeoverReq:
		c.onTakeover(ev)
	case *handover:
		c.onHandover(ev)
	case joinResult:
		c.onJoinResult(ev)
	case *replaceEvent:
		c.onReplaceInvite(ev)
	case reinviteResult:
		c.onReinviteResult(ev)
	case unholdResult:
		c.onUnholdResult(ev)
	case relatchEvent:
		c.onRelatch(ev)
	case relayEvent:
		if errors.Is(ev.err, media.ErrTimeout) && c.state == stAnswered {
			c.log.Info("media timeout; hanging up", "err", ev.err)
			c.hangup("system", "media timeout")
		}
	}
}

func (c *call) onResponse(f *fork, tx sip.ClientTransaction, res *sip.Response) {
	if tx != f.tx || f.final != nil {
		return
	}
	f.responded = true
	if res.IsProvisional() {
		if res.StatusCode == 100 {
			return
		}
		f.provis = true
		if f.cancelled {
			c.sendCancel(f)
			return
		}
		if c.state != stRinging {
			return
		}
		if body := res.Body(); len(body) > 0 && c.late {
			// An offer in an unreliable provisional response: the
			// caller can take it only in our 200.
			c.early = body
		} else if len(body) > 0 && !c.earlySent {
			if sdpBody, err := c.answerSDP(body); err == nil {
				c.early = body
				c.earlySent, c.ringSent = true, true
				c.respondA(183, "Session Progress", sdpBody)
				return
			}
		}
		if !c.ringSent {
			c.ringSent = true
			c.respondA(180, "Ringing", nil)
		}
		return
	}
	f.final = res
	if !res.IsSuccess() {
		c.forkEnded(f) // leg event
	}
	if res.IsSuccess() {
		if c.state != stRinging {
			c.ackAndBye(f, res) // another fork won, or the caller gave up
			return
		}
		c.answer(f, res)
		return
	}
	if (res.StatusCode == 401 || res.StatusCode == 407) && f.t.trunk != nil && c.state == stRinging &&
		!f.authTried && f.t.trunk.Username != "" {
		if c.retryAuth(f, res) {
			return
		}
	}
	if c.state == stRinging && c.allForksFailed() {
		c.forksFailed()
	}
}

// forksFailed runs when every fork has its failure: the call goes to the
// next trunk when the last one failed over (failoverStatus), otherwise
// the caller gets the best failure.
func (c *call) forksFailed() {
	for len(c.spare) > 0 && len(c.forks) > 0 && failoverStatus(c.forks[len(c.forks)-1].final.StatusCode) {
		t := c.spare[0]
		c.spare = c.spare[1:]
		c.log.Info("trunk failed; trying the next", "status", c.forks[len(c.forks)-1].final.StatusCode,
			"trunk", t.trunk.label())
		if !c.late {
			if ip := c.b.mediaIP(t.dest); ip != c.offerIP {
				sd, _, err := parseSDP(c.aReq.Body())
				if err == nil {
					widenOffer(sd)
					c.offer, err = legSDP(sd, &c.bOrigin, ip, c.relay, media.LegB)
				}
				if err != nil {
					break
				}
				c.offerIP, c.bSDP = ip, c.offer
			}
		}
		// The early media of the failed trunk is over.
		c.early, c.earlySent = nil, false
		c.invite(t)
		if !c.allForksFailed() {
			return
		}
	}
	c.failA()
}

// answerSDP turns an answer from the B side into the answer for the
// caller, pointing the relay at the callee. Late, it turns the callee's
// offer into the offer for the caller the same way.
//
// The answer is aligned on the caller's offer (one m= line each, in
// order) and its codecs decide whether the relay transcodes (codecs.go);
// a *noCommonCodec error means the two sides cannot talk.
func (c *call) answerSDP(body []byte) ([]byte, error) {
	sd, m, err := parseSDP(body)
	if err != nil {
		c.log.Info("bad sdp from callee", "err", err)
		return nil, err
	}
	if !c.late {
		if offer, _, err := parseSDP(c.aReq.Body()); err == nil {
			alignAnswer(offer, sd)
			ac, bc, err := planCodecs(offer, sd)
			if err != nil {
				c.log.Info("callee answered no codec of the caller's", "err", err)
				return nil, err
			}
			c.setCodecs(ac, bc)
		}
	} else {
		// The callee's offer: the caller may answer with a codec the
		// relay transcodes to (lateAnswer).
		widenOffer(sd)
	}
	setMedia(c.relay, media.LegB, m)
	c.relay.SetHold(media.LegB, m.hold)
	out, err := legSDP(sd, &c.aOrigin, c.b.mediaIP(c.aReq.Source()), c.relay, media.LegA)
	if err != nil {
		return nil, err
	}
	c.aSDP = out
	return out, nil
}

// answer connects the caller to the fork that answered.
func (c *call) answer(f *fork, res *sip.Response) {
	c.won = f
	c.legsAnswered(f) // leg event
	c.bTarget = &f.t
	for _, o := range c.forks {
		if o != f {
			c.cancelFork(o)
		}
	}
	c.bDlg = dialog{callID: f.req.CallID().Value(), localURI: f.req.From().Address, localTag: tag(f.req.From().Params),
		remoteURI: res.To().Address, remoteTag: tag(res.To().Params), target: f.req.Recipient,
		dest: f.t.dest, transport: f.t.transport, contact: *f.req.Contact(), cseq: f.req.CSeq().SeqNo}
	if ct := res.Contact(); ct != nil {
		c.bDlg.target = ct.Address
	}
	c.relay.SetPeer(media.LegB, peerIP(c.bDlg.dest))
	c.resendAckB(f)
	if !c.late {
		c.ackB(nil)
	}
	body := res.Body()
	if len(body) == 0 {
		body = c.early
	}
	sdpBody, err := c.answerSDP(body)
	if err != nil {
		c.state = stEnded
		c.cdr.Disposition, c.cdr.Reason, c.cdr.HangupBy = directory.Failed, "bad sdp answer", "system"
		if c.late {
			c.cdr.Reason = "bad sdp offer from callee"
		}
		c.byeB()
		var nc *noCommonCodec
		switch {
		case c.late:
			c.respondA(502, "Bad Gateway", nil)
		case errors.As(err, &nc):
			c.cdr.Reason = nc.Error()
			c.aWarning = nc.warning(c.b.s.realm())
			c.respondA(488, "Not Acceptable Here", nil)
		default:
			c.respondA(488, "Not Acceptable Here", nil)
		}
		return
	}
	if c.late {
		c.bOffer, c.needAnswer = body, true
	}
	c.state = stAnswered
	c.relay.Arm()
	now := time.Now().UTC()
	c.cdr.AnsweredAt = now
	c.cdr.Disposition = directory.Answered
	if f.t.userID != 0 {
		c.cdr.CalleeID = f.t.userID
	}
	if f.t.ext != "" {
		c.cdr.To = f.t.ext
	}
	c.setParties(f)
	src := c.aReq.Source()
	c.a = dialog{callID: c.id, localURI: c.aReq.To().Address, localTag: tag(c.aReq.To().Params),
		remoteURI: c.aReq.From().Address, remoteTag: tag(c.aReq.From().Params),
		target: c.aReq.Contact().Address, dest: src, transport: c.aReq.Transport(),
		contact: c.b.contactFor(src, c.aReq.Transport())}
	ok200 := c.okResponse(c.aReq, sdpBody, c.a.contact)
	if !c.late { // late, the recording starts with the answer
		c.startRecording()
	}
	c.aAnswered = true
	if err := c.aTx.Respond(ok200); err != nil {
		c.log.Info("200 to caller not sent", "err", err)
		c.hangup("system", "caller unreachable")
		c.closeAFinal()
		return
	}
	c.log.Info("call answered", "dest", f.t.dest, "ext", f.t.ext, "late_offer", c.late)
	c.addPending(c.aReq, true, c.aTx, ok200, c.aFinal, true, c.late)
	if !c.late {
		c.storeRecording()
	}
}

// lateAnswer takes the caller's answer from the ACK of our 200 of a late
// offer call: the relay is pointed at the caller and the answer goes to
// the callee in the ACK of its 2xx. No answer, or one that does not parse,
// ends the call.
func (c *call) lateAnswer(body []byte) {
	if len(body) == 0 {
		c.hangup("system", "no sdp answer in ack")
		return
	}
	sd, m, err := parseSDP(body)
	var out []byte
	if err == nil {
		if offer, _, err := parseSDP(c.bOffer); err == nil {
			alignAnswer(offer, sd)
			bc, ac, err := planCodecs(offer, sd)
			if err != nil {
				c.log.Info("caller answered no codec of the callee's", "err", err)
				c.hangup("system", err.Error())
				return
			}
			c.setCodecs(ac, bc)
		}
		out, err = legSDP(sd, &c.bOrigin, c.b.mediaIP(c.bDlg.dest), c.relay, media.LegB)
	}
	if err != nil {
		c.log.Info("bad sdp answer from caller", "err", err)
		c.hangup("system", "bad sdp answer in ack")
		return
	}
	c.needAnswer = false
	setMedia(c.relay, media.LegA, m)
	c.relay.SetHold(media.LegA, m.hold)
	c.bSDP = out
	c.startRecording()
	c.ackB(out)
	c.storeRecording()
}

// refusingAnswer is an answer to the callee's late offer that refuses
// every stream (port 0), sent in the ACK of a call that ends at once
// (RFC 3261 §13.2.2.4: the ACK must carry an answer, then BYE); nil
// when the offer does not parse.
func (c *call) refusingAnswer() []byte {
	sd, _, err := parseSDP(c.bOffer)
	if err != nil {
		return nil
	}
	out, err := rewriteSDP(sd, &c.bOrigin, c.b.mediaIP(c.bDlg.dest), 0)
	if err != nil {
		return nil
	}
	return out
}

func (c *call) okResponse(req *sip.Request, body []byte, contact sip.ContactHeader) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(sip.HeaderClone(&contact))
	res.AppendHeader(sip.NewHeader("Allow", callAllowed))
	res.AppendHeader(sip.NewHeader("Server", c.b.s.cfg.UserAgent))
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

func (c *call) addPending(req *sip.Request, fromA bool, tx sip.ServerTransaction, res *sip.Response, done chan struct{}, initial, offer bool) {
	now := time.Now()
	c.pending = append(c.pending, &pending2xx{fromA: fromA, tx: tx, res: res, cseq: req.CSeq().SeqNo, done: done,
		next: now.Add(sip.T1), interval: sip.T1, deadline: now.Add(64 * sip.T1), initial: initial,
		reliable: sip.IsReliable(req.Transport()), offer: offer})
}

// resendAckB has each retransmission of the winning fork's 2xx answered
// with our ACK, once it went (ackB).
func (c *call) resendAckB(f *fork) {
	f.tx.OnRetransmission(func(r *sip.Response) {
		if tmpl := c.ackTmpl.Load(); tmpl != nil && r.IsSuccess() {
			_ = c.b.s.client.WriteRequest(tmpl.Clone())
		}
	})
}

// ackB sends the ACK for the B side's 2xx, with body (the answer to a
// late offer) unless nil.
func (c *call) ackB(body []byte) {
	c.bAcked = true
	ack := c.bDlg.request(sip.ACK)
	if body != nil {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody(body)
	}
	c.ackTmpl.Store(ack.Clone())
	if err := c.b.s.client.WriteRequest(ack); err != nil {
		c.log.Info("ack not sent", "err", err)
	}
}

// ackAndBye ends a fork that answered too late.
func (c *call) ackAndBye(f *fork, res *sip.Response) {
	d := dialog{callID: f.req.CallID().Value(), localURI: f.req.From().Address, localTag: tag(f.req.From().Params),
		remoteURI: res.To().Address, remoteTag: tag(res.To().Params), target: f.req.Recipient,
		dest: f.t.dest, transport: f.t.transport, contact: *f.req.Contact(), cseq: f.req.CSeq().SeqNo}
	if ct := res.Contact(); ct != nil {
		d.target = ct.Address
	}
	ack := d.request(sip.ACK)
	if c.late {
		if sd, _, err := parseSDP(res.Body()); err == nil {
			if body, err := rewriteSDP(sd, &origin{id: c.bOrigin.id}, c.b.mediaIP(d.dest), 0); err == nil {
				ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				ack.SetBody(body)
			}
		}
	}
	_ = c.b.s.client.WriteRequest(ack)
	bye := d.request(sip.BYE)
	c.wg.Go(func() { c.sendBye(bye) })
}

func (c *call) sendBye(bye *sip.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if _, err := c.b.sendAndWait(ctx, bye); err != nil {
		c.log.Debug("bye not answered", "err", err)
	}
}

// retryAuth answers the trunk's digest challenge with a new INVITE.
func (c *call) retryAuth(f *fork, res *sip.Response) bool {
	hdr, authHdr := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		hdr, authHdr = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(hdr)
	if h == nil {
		return false
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return false
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: f.req.Recipient.String(),
		Username: f.t.trunk.Username, Password: string(f.t.trunk.Password)})
	if err != nil {
		return false
	}
	// sipgo has ACKed the challenge; its transaction would linger for
	// Timer D, and its watcher with it.
	f.tx.Terminate()
	req := f.req.Clone()
	req.RemoveHeader("Via")
	req.RemoveHeader(authHdr)
	req.CSeq().SeqNo++
	req.AppendHeader(sip.NewHeader(authHdr, cred.String()))
	f.req, f.final, f.authTried, f.provis = req, nil, true, false
	c.send(f)
	return f.tx != nil && f.final == nil
}

func (c *call) allForksFailed() bool {
	for _, f := range c.forks {
		if f.final == nil || f.final.IsSuccess() {
			return false
		}
	}
	return true
}

// failA gives the caller the best of the forks' failures (RFC 3261
// §16.7: a 6xx first, then busy, then the others).
func (c *call) failA() {
	code, reason, disp := bestFailure(c.forks)
	c.log.Info("call failed", "status", code)
	if code == 488 && !c.late {
		c.aWarning = refusedOfferWarning(c.b.s.realm(), c.aReq.Body(), c.offer)
	}
	c.endRinging(code, reason, disp, "callee")
	c.cdr.Reason = itoa(code) + " " + reason
}

// bestFailure picks the final response of failed forks to pass on, and
// the CDR disposition it means.
func bestFailure(forks []*fork) (int, string, directory.Disposition) {
	var best *sip.Response
	rank := func(r *sip.Response) int {
		switch {
		case r.StatusCode >= 600:
			return 0
		case r.StatusCode == 486:
			return 1
		case r.StatusCode >= 400 && r.StatusCode < 500 && r.StatusCode != 408:
			return 2
		}
		return 3
	}
	for _, f := range forks {
		if f.final != nil && (best == nil || rank(f.final) < rank(best)) {
			best = f.final
		}
	}
	code, reason := 480, "Temporarily Unavailable"
	if best != nil {
		code, reason = best.StatusCode, best.Reason
	}
	disp := directory.Failed
	switch {
	case code == 486 || code == 600 || code == 603:
		disp = directory.Busy
	case code == 480 || code == 404 || code == 410:
		disp = directory.Unavailable
	case code == 408 || code == 487:
		disp = directory.NoAnswer
		code, reason = 480, "Temporarily Unavailable"
	}
	return code, reason, disp
}

// endRinging ends a call that was not answered: the forks still ringing
// are cancelled and the caller gets code (0: already answered by sipgo).
func (c *call) endRinging(code int, reason string, disp directory.Disposition, by string) {
	if c.forwardOnFailure(code, reason, disp, by) {
		return
	}
	c.state = stEnded
	c.cdr.Disposition, c.cdr.HangupBy = disp, by
	for _, f := range c.forks {
		c.cancelFork(f)
	}
	c.linger = time.Now().Add(byeTimeout)
	if code != 0 {
		c.respondA(code, reason, nil)
	}
	c.closeAFinal()
}

// respondA sends a response to the caller's INVITE; a final one only once.
func (c *call) respondA(code int, reason string, body []byte) {
	if c.aAnswered {
		return
	}
	res := sip.NewResponseFromRequest(c.aReq, code, reason, body)
	res.AppendHeader(sip.NewHeader("Server", c.b.s.cfg.UserAgent))
	if c.aWarning != "" && code >= 300 {
		res.AppendHeader(sip.NewHeader("Warning", c.aWarning))
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ct := c.b.contactFor(c.aReq.Source(), c.aReq.Transport())
		res.AppendHeader(&ct)
	}
	if code >= 200 {
		c.aAnswered = true
	}
	if err := c.aTx.Respond(res); err != nil {
		c.log.Debug("response to caller not sent", "status", code, "err", err)
	}
}

func (c *call) closeAFinal() {
	select {
	case <-c.aFinal:
	default:
		close(c.aFinal)
	}
}

// cancelFork cancels a fork that has no final answer. RFC 3261 §9.1: only
// after a provisional response; otherwise when one comes.
func (c *call) cancelFork(f *fork) {
	if f.final != nil || f.cancelled || f.tx == nil {
		return
	}
	f.cancelled = true
	if f.provis {
		c.sendCancel(f)
	}
}

func (c *call) sendCancel(f *fork) {
	req := sip.NewRequest(sip.CANCEL, f.req.Recipient)
	req.AppendHeader(sip.HeaderClone(f.req.Via()))
	req.AppendHeader(sip.HeaderClone(f.req.From()))
	req.AppendHeader(sip.HeaderClone(f.req.To()))
	req.AppendHeader(sip.HeaderClone(f.req.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: f.req.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetTransport(f.req.Transport())
	req.SetDestination(f.req.Destination())
	c.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		defer cancel()
		if _, err := c.b.sendAndWait(ctx, req); err != nil {
			c.log.Debug("cancel not answered", "err", err)
		}
	})
}

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
		gone := c.abortXfer("call ended")
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
	if !c.needAnswer {
		return
	}
	c.needAnswer = false
	c.cdr.Disposition, c.cdr.AnsweredAt = directory.Failed, time.Time{}
	if c.cdr.Reason == "" {
		c.cdr.Reason = "ended before the sdp answer"
	}
}

func (c *call) byeA() {
	bye := c.a.request(sip.BYE)
	c.wg.Go(func() { c.sendBye(bye) })
}

func (c *call) byeB() {
	if !c.bAcked { // late offer: its 2xx needs an ACK with an answer first
		c.ackB(c.refusingAnswer())
	}
	bye := c.bDlg.request(sip.BYE)
	c.wg.Go(func() { c.sendBye(bye) })
}

func (c *call) onAck(ev *ackEvent) {
	var answered []*pending2xx
	keep := c.pending[:0]
	for _, p := range c.pending {
		seq := ev.req.CSeq().SeqNo
		// A 2xx with our offer waits for its own ACK, which has the answer:
		// a later request of the leg does not stand for it.
		if p.fromA == ev.fromA && (p.cseq == seq || ev.before && p.cseq < seq && !p.offer) {
			close(p.done)
			if p.offer {
				answered = append(answered, p)
			}
			continue
		}
		keep = append(keep, p)
	}
	c.pending = keep
	for _, p := range answered {
		var body []byte
		if !ev.before && p.cseq == ev.req.CSeq().SeqNo {
			body = ev.req.Body()
		}
		if c.state != stAnswered {
			continue
		}
		if p.initial {
			c.lateAnswer(body)
		} else {
			c.reofferAnswered(p.fromA, body)
		}
	}
}

// reofferAnswered takes the answer, in its ACK, to the offer we made in
// the 2xx of a re-INVITE without SDP. The session stays as it was when
// there is none or it does not parse.
func (c *call) reofferAnswered(fromA bool, body []byte) {
	if len(body) == 0 {
		c.log.Info("no sdp answer in the ack of a re-invite without sdp; media unchanged")
		return
	}
	_, m, err := parseSDP(body)
	if err != nil {
		c.log.Info("bad sdp answer in the ack of a re-invite without sdp; media unchanged", "err", err)
		return
	}
	leg := media.LegA
	if !fromA {
		leg = media.LegB
	}
	setMedia(c.relay, leg, m)
	c.relay.SetHold(media.LegA, m.hold)
	c.relay.SetHold(media.LegB, m.hold)
}

func (c *call) onBye(ev *reqEvent) {
	res := sip.NewResponseFromRequest(ev.req, 200, "OK", nil)
	switch {
	case c.state == stAnswered && c.xfer != nil && c.xfer.fromA == ev.fromA && !c.xfer.gone:
		// The transferor hangs up once the transfer is under way: the
		// transfer goes on without it.
		c.b.s.send(ev.tx, res)
		close(ev.done)
		c.transferorLeft(ev.fromA)
	case c.state == stAnswered:
		c.b.s.send(ev.tx, res)
		close(ev.done)
		c.state = stEnded
		c.dropPending(ev.fromA)
		c.noMedia()
		c.cdr.HangupBy = "callee"
		if (c.callerLeg == 0) == ev.fromA {
			c.cdr.HangupBy = "caller"
		}
		gone := c.abortXfer("call ended")
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

// dropPending forgets the 2xx waiting for an ACK from one leg: its BYE
// came first.
func (c *call) dropPending(fromA bool) {
	keep := c.pending[:0]
	for _, p := range c.pending {
		if p.fromA == fromA {
			close(p.done)
			continue
		}
		keep = append(keep, p)
	}
	c.pending = keep
}

// onReinvite passes a re-INVITE (hold, resume, codec change) to the other
// leg with its SDP pointed at the relay.
func (c *call) onReinvite(ev *reqEvent) {
	reject := func(code int, reason string) {
		c.b.s.respond(ev.tx, ev.req, code, reason)
		close(ev.done)
	}
	if c.state != stAnswered {
		reject(481, "Call/Transaction Does Not Exist")
		return
	}
	// A new INVITE from a leg means it sent the ACK of our last 2xx, even
	// if sipgo hands us the INVITE first.
	c.onAck(&ackEvent{req: ev.req, fromA: ev.fromA, before: true})
	if c.state != stAnswered { // it ended the call (a late offer not answered)
		reject(481, "Call/Transaction Does Not Exist")
		return
	}
	if c.reinv != nil || c.hasPending() || c.unhold {
		reject(491, "Request Pending") // glare (RFC 3261 §14.2)
		return
	}
	if c.xfer != nil {
		reject(491, "Request Pending (Transfer In Progress)")
		return
	}
	if len(ev.req.Body()) == 0 {
		c.reofferLocally(ev)
		return
	}
	from, to := media.LegA, media.LegB
	toDlg, toOrigin := &c.bDlg, &c.bOrigin
	if !ev.fromA {
		from, to = media.LegB, media.LegA
		toDlg, toOrigin = &c.a, &c.aOrigin
	}
	sd, m, err := parseSDP(ev.req.Body())
	if err != nil {
		reject(488, "Not Acceptable Here")
		return
	}
	setMedia(c.relay, from, m)
	// Hold either way silences both directions for the media timeout.
	c.relay.SetHold(from, m.hold)
	c.relay.SetHold(to, m.hold)
	widenOffer(sd)
	body, err := legSDP(sd, toOrigin, c.b.mediaIP(toDlg.dest), c.relay, to)
	if err != nil {
		reject(488, "Not Acceptable Here")
		return
	}
	req := toDlg.request(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	if ev.fromA {
		c.bSDP = body
	} else {
		c.aSDP = body
	}
	c.reinv = &reinvite{ev: ev}
	c.wg.Go(func() {
		res, err := c.b.sendAndWait(c.reqCtx, req)
		c.post(reinviteResult{res: res, err: err})
	})
}

// reofferLocally answers a re-INVITE without SDP (a session refresh, or a
// resume asking for a new offer) without involving the other leg: our 2xx
// offers the SDP that leg already has from us, unchanged (RFC 3264 §8),
// and the answer in its ACK updates only that leg's media.
func (c *call) reofferLocally(ev *reqEvent) {
	offer, contact := c.aSDP, c.a.contact
	if !ev.fromA {
		offer, contact = c.bSDP, c.bDlg.contact
	}
	if offer == nil {
		c.b.s.respond(ev.tx, ev.req, 488, "Not Acceptable Here")
		close(ev.done)
		return
	}
	ok := c.okResponse(ev.req, offer, contact)
	if err := ev.tx.Respond(ok); err != nil {
		close(ev.done)
		return
	}
	c.addPending(ev.req, ev.fromA, ev.tx, ok, ev.done, false, true)
}

func (c *call) hasPending() bool { return len(c.pending) > 0 }

func (c *call) onReinviteResult(r reinviteResult) {
	ri := c.reinv
	c.reinv = nil
	if ri == nil {
		return
	}
	ev := ri.ev
	toDlg := &c.bDlg
	fromLeg, toLeg := media.LegA, media.LegB
	if !ev.fromA {
		toDlg = &c.a
		fromLeg, toLeg = media.LegB, media.LegA
	}
	if r.err != nil || c.state != stAnswered {
		c.b.s.respond(ev.tx, ev.req, 500, "Server Internal Error")
		close(ev.done)
		return
	}
	res := r.res
	if !res.IsSuccess() {
		out := sip.NewResponseFromRequest(ev.req, res.StatusCode, res.Reason, nil)
		c.b.s.send(ev.tx, out)
		close(ev.done)
		return
	}
	// ACK the 2xx: same CSeq as the re-INVITE.
	ack := toDlg.request(sip.ACK)
	if err := c.b.s.client.WriteRequest(ack); err != nil {
		c.log.Debug("ack not sent", "err", err)
	}
	var body []byte
	if len(res.Body()) > 0 {
		sd, m, err := parseSDP(res.Body())
		if err == nil {
			if offer, _, err := parseSDP(ev.req.Body()); err == nil {
				alignAnswer(offer, sd)
				if oc, ac, err := planCodecs(offer, sd); err != nil {
					c.log.Info("re-invite answered with no codec of the offer's; media unchanged", "err", err)
				} else if ev.fromA {
					c.setCodecs(oc, ac)
				} else {
					c.setCodecs(ac, oc)
				}
			}
			setMedia(c.relay, toLeg, m)
			var fromDlgDest string
			if ev.fromA {
				fromDlgDest = c.a.dest
			} else {
				fromDlgDest = c.bDlg.dest
			}
			fromOrigin := &c.aOrigin
			if !ev.fromA {
				fromOrigin = &c.bOrigin
			}
			body, _ = legSDP(sd, fromOrigin, c.b.mediaIP(fromDlgDest), c.relay, fromLeg)
		}
	}
	if body == nil { // keep the last SDP this side got
		if ev.fromA {
			body = c.aSDP
		} else {
			body = c.bSDP
		}
	} else if ev.fromA {
		c.aSDP = body
	} else {
		c.bSDP = body
	}
	contact := c.a.contact
	if !ev.fromA {
		contact = c.bDlg.contact
	}
	ok := c.okResponse(ev.req, body, contact)
	if err := ev.tx.Respond(ok); err != nil {
		close(ev.done)
		return
	}
	c.addPending(ev.req, ev.fromA, ev.tx, ok, ev.done, false, false)
}

// teardown releases everything the call holds and writes its CDR row.
func (c *call) teardown() {
	c.mu.Lock()
	c.closed = true
	rest := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, ev := range rest {
		switch r := ev.(type) {
		case *reqEvent:
			c.b.s.respond(r.tx, r.req, 481, "Call/Transaction Does Not Exist")
			close(r.done)
		case *replaceEvent:
			c.b.s.respond(r.tx, r.req, 481, "Call/Transaction Does Not Exist")
			close(r.done)
		case *takeoverReq:
			r.by.post(&handover{x: r.x, code: 481, reason: "Call/Transaction Does Not Exist"})
		case *handover:
			if r.code == 0 { // a party handed over too late: it is ours to end
				bye := r.dlg.request(sip.BYE)
				c.wg.Go(func() { c.sendBye(bye) })
			}
		}
	}
	if ri := c.reinv; ri != nil {
		c.b.s.respond(ri.ev.tx, ri.ev.req, 500, "Server Internal Error")
		close(ri.ev.done)
		c.reinv = nil
	}
	if c.state != stEnded {
		c.state = stEnded
	}
	if !c.aAnswered {
		c.respondA(500, "Server Internal Error", nil)
	}
	c.closeAFinal()
	for _, f := range c.forks {
		if f.tx != nil {
			f.tx.Terminate()
		}
	}
	for _, f := range c.xforks {
		if f.tx != nil {
			f.tx.Terminate()
		}
	}
	c.relay.Close()
	c.reqCancel()
	c.wg.Wait()
	c.b.remove(c)
	c.legsEnded() // leg event
	c.cdr.EndedAt = time.Now().UTC()
	c.finishRecording()
	c.writeCDR()
	a, b := c.relay.Stats(media.LegA), c.relay.Stats(media.LegB)
	c.log.Info("call over", "disposition", c.cdr.Disposition, "by", c.cdr.HangupBy,
		"rtp_a", a.Packets, "rtp_b", b.Packets, "rtp_rejected_a", a.Rejected, "rtp_rejected_b", b.Rejected)
}
