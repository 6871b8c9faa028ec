package queue

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// A call in a queue (the engine's driver is queue.go). The
// router finds the queue's number (dialed, by DID, by a forward or a menu)
// and the call, instead of ringing anyone, is answered by the PBX as
// voicemail answers one (sip/voicemail): leg B is a media endpoint of our
// own, which plays the queue's music. The caller is then enqueued.
//
//   - Offer: the agent's phones ring into leg B, as park's ring-back rings
//     a parker into a parked call's empty leg (sip/park); a phone that
//     cannot ring (do not disturb, at its call limit, not registered) makes
//     the agent busy instead. The phone that answers takes leg B
//     (answerEmptyLeg): the music stops, the call is recorded as the
//     recording policy says for the caller and the agent, and the engine
//     is told (AgentAnswered). A decline or failure is AgentMissed; the
//     queue's ring timeout is the engine's (its Cancel).
//   - Position: the caller hears as many short high beeps as their place
//     in the queue (1: next), over a pause in the music: there are no
//     spoken prompts.
//   - Overflow: the caller leaves for the overflow number through the
//     dial plan: its phones ring into leg B (another queue enqueues them
//     there); no overflow number, or nobody answering it within the ring
//     time, ends the call.
//   - The caller hanging up while waiting is Abandon; the end of a call
//     an agent took is CallEnded, which starts the agent's wrap-up.
//
// CDR: the row's Queue is the queue's number and QueueWait the time from
// the PBX's answer to the agent's (or to the abandon or overflow); the
// agent who answered is the row's callee; an abandoned call is
// "cancelled" by the caller. AnsweredAt is the agent's answer, so the
// row's duration is the talk time.

// queueCall is a call's time in a queue, a room on the call.
type queueCall struct {
	rtm    *Runtime
	c      *call.Call
	q      directory.Queue
	key    string // the engine's queue ID
	joined time.Time
	ep     *media.Endpoint // the music, while nobody is on leg B
	music  *media.Clip
	gen    int // of the position announcement playing
	ctx    context.Context
	cancel context.CancelFunc

	waiting bool                    // in the engine's queue
	offers  map[string]*dial.Dialer // agents ringing, by agent
	agent   string                  // the agent on the call
	via     string                  // the menus the caller came through, for the row's reason
	over    *dial.Dialer            // the overflow number ringing
	hops    int                     // overflows so far (queue to queue)
	filled  bool                    // someone took leg B
}

// Events of a queued call.
type (
	queueOfferEvent struct {
		rtm   *Runtime
		agent string
	}
	queueCancelEvent   struct{ agent string }
	queuePositionEvent struct{ pos int }
	queueOverflowEvent struct{ target, reason string }
	queueMusicEvent    struct{ gen int }
	queueOverTimeout   struct{ d *dial.Dialer }
)

func (ev queueOfferEvent) HandleOn(c *call.Call) {
	if qc := queueOf(c); qc != nil {
		qc.onOffer(ev.agent)
	} else {
		ev.rtm.missed(ev.agent, c.ID)
	}
}
func (ev queueCancelEvent) HandleOn(c *call.Call) {
	if qc := queueOf(c); qc != nil {
		qc.onCancel(ev.agent)
	}
}
func (ev queuePositionEvent) HandleOn(c *call.Call) {
	if qc := queueOf(c); qc != nil {
		qc.onPosition(ev.pos)
	}
}
func (ev queueOverflowEvent) HandleOn(c *call.Call) {
	if qc := queueOf(c); qc != nil {
		qc.onOverflow(ev.target, ev.reason)
	}
}
func (ev queueMusicEvent) HandleOn(c *call.Call) {
	if qc := queueOf(c); qc != nil && qc.ep != nil && qc.gen == ev.gen {
		qc.ep.Play(qc.music, true)
	}
}
func (ev queueOverTimeout) HandleOn(c *call.Call) {
	if qc := queueOf(c); qc != nil && qc.over == ev.d && !qc.filled {
		c.Log.Info("queue overflow not answered", "queue", qc.q.Number)
		c.Hangup("system", "queue "+qc.q.Number+": overflow not answered")
	}
}

func (qc *queueCall) RoomName() string { return "queue" }

// queueOf returns the queue room open on c, nil when the call is in no
// queue. The engine's events (queue.go) find the caller's wait by it.
func queueOf(c *call.Call) *queueCall {
	for _, r := range c.Rooms {
		if qc, ok := r.(*queueCall); ok {
			return qc
		}
	}
	return nil
}

// queueAnswer is the answerer of a route to a call queue: the PBX answers
// the call with the queue's music and enqueues it.
type Answer struct {
	rtm   *Runtime
	Queue *directory.Queue
}

// Refusal refuses a call the queue cannot answer: one without an SDP
// offer.
func (Answer) Refusal(c *call.Call) *route.Refusal {
	if c.Late {
		return &route.Refusal{Code: 488, Reason: "Not Acceptable Here (Offer Needed)", Disp: directory.Failed, Why: "queue: no sdp offer"}
	}
	return nil
}

// AnswerCall enters the call in the queue.
func (a Answer) AnswerCall(c *call.Call) { enterQueue(a.rtm, c, *a.Queue) }

// Route makes rt a queue's when ext is a queue's number, and reports
// whether it was.
func (r *Runtime) Route(ctx context.Context, rt *route.Route, ext string) (bool, *route.Refusal) {
	q, err := r.b.Store.QueueByNumber(ctx, ext)
	if errors.Is(err, directory.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, route.StoreDown(err)
	}
	if err := r.ensure(ctx); err != nil {
		return true, route.StoreDown(err)
	}
	r.sync(*q)
	rt.To, rt.Answer = ext, Answer{rtm: r, Queue: q}
	return true, nil
}

// enterQueue answers a call routed to queue q with the queue's music and
// enqueues it; the call is filed and its relay runs. It reports whether
// the caller was answered (otherwise it was refused).
func enterQueue(rtm *Runtime, c *call.Call, q directory.Queue) bool {
	key := Key(q.ID)
	if !rtm.staffed(key) && q.Overflow == "" {
		endQueued(c, 480, "Temporarily Unavailable (No Agents)", "queue "+q.Number+": no agent logged in")
		return false
	}
	offer, _, err := sdpneg.Parse(c.AReq.Body())
	if err != nil {
		endQueued(c, 488, "Not Acceptable Here", "bad sdp offer")
		return false
	}
	codec, event := endpointCodec(offer)
	ip := c.Core.Config.MediaIP
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	ep, err := media.NewEndpoint(media.EndpointConfig{Pool: c.Core.Pool, IP: ip, Codec: codec, EventType: event, Logger: c.Log})
	if err != nil {
		endQueued(c, 503, "Service Unavailable", "no rtp ports")
		return false
	}
	ep.SetRemote(netip.AddrPortFrom(ip, c.Relay.Local(media.LegB).Port()))
	body, err := c.AnswerSDP(sdpneg.EndpointSDP(ep.Local().Addr(), ep.Local().Port(), codec, event))
	if err != nil {
		ep.Close()
		endQueued(c, 488, "Not Acceptable Here", "no common codec")
		return false
	}
	now := time.Now().UTC()
	qc := &queueCall{rtm: rtm, c: c, q: q, key: key, joined: now, ep: ep, music: rtm.music(q), offers: map[string]*dial.Dialer{}}
	qc.ctx, qc.cancel = context.WithCancel(c.ReqCtx)
	c.Rooms.Open(qc)
	// Enqueued before the 200 goes, so that a board read once the caller
	// hears the answer shows them; the engine's events wait in the call's
	// mailbox until its actor runs.
	qc.waiting = true
	if err := rtm.enqueue(c, key, c.Rt.From, now); err != nil {
		c.Rooms.Close(qc)
		qc.waiting = false
		qc.cancel()
		ep.Close()
		c.Log.Warn("call not queued", "queue", q.Number, "err", err)
		endQueued(c, 503, "Service Unavailable", "queue "+q.Number+": "+err.Error())
		return false
	}
	c.State, c.BAcked = call.StAnswered, true
	c.Relay.Arm()
	c.CDR.Queue, c.CDR.Disposition, c.CDR.Reason = q.Number, directory.NoAnswer, "waiting in queue "+q.Number
	c.SetParty(0, call.Party{UserID: c.Rt.CallerID, Num: c.Rt.From, Ext: c.CallerExt()})
	c.SetParty(1, call.Party{Num: q.Number})
	c.Legs[0].Dialog = c.Core.UASDialog(c.AReq)
	ok200 := c.OKResponse(c.AReq, body, c.Legs[0].Dialog.Contact)
	c.AAnswered = true
	if err := c.ATx.Respond(ok200); err != nil {
		c.Log.Info("200 to caller not sent", "err", err)
		c.Hangup("system", "caller unreachable")
		c.CloseAFinal()
		return true
	}
	c.AwaitAck(c.AReq, call.Pending2xx{FromA: true, Tx: c.ATx, Res: ok200, Done: c.AFinal, Initial: true})
	ctx := qc.ctx
	c.WG.Go(func() { _ = ep.Run(ctx) })
	ep.Play(qc.music, true)
	c.Log.Info("call queued", "queue", q.Number, "codec", codec)
	return true
}

// join enqueues the call in qc's queue.
func (qc *queueCall) join() {
	c := qc.c
	qc.waiting = true
	if err := qc.rtm.enqueue(c, qc.key, c.Rt.From, qc.joined); err != nil {
		qc.waiting = false
		c.Log.Warn("call not queued", "queue", qc.q.Number, "err", err)
		c.Hangup("system", "queue "+qc.q.Number+": "+err.Error())
	}
}

// endQueued refuses a queue's call before it was answered (the call is
// filed: the actor ends it).
func endQueued(c *call.Call, code int, reason, why string) {
	c.State = call.StEnded
	c.CDR.Disposition, c.CDR.Reason, c.CDR.HangupBy = directory.Unavailable, why, "system"
	c.RespondA(code, reason, nil)
	c.Log.Info("queue call refused", "why", why)
}

// endpointCodec is the codec and telephone-event type a PBX endpoint
// answers an offer with: the first of PCMU and PCMA it has (else PCMU).
func endpointCodec(sd *sdp.SessionDescription) (media.Codec, uint8) {
	codec, event := media.PCMU, uint8(0)
	if md := sdpneg.Audio(sd); md != nil {
		found := false
		for _, sc := range sdpneg.CodecsOf(md) {
			if mc, ok := sc.MediaCodec(); ok && !found && (mc == media.PCMU || mc == media.PCMA) {
				codec, found = mc, true
			}
			if sc.Name == "TELEPHONE-EVENT" && sc.Rate == 8000 && event == 0 {
				event = sc.PT
			}
		}
	}
	return codec, event
}

// onOffer rings agent's phones into leg B.
func (qc *queueCall) onOffer(agent string) {
	c := qc.c
	rtm := qc.rtm
	if !qc.waiting || c.State != call.StAnswered {
		rtm.missed(agent, c.ID)
		return
	}
	cred, ok := rtm.ringable(agent)
	if !ok {
		c.Log.Info("queue agent cannot ring", "queue", qc.q.Number, "agent", agent)
		rtm.markBusy(agent)
		return
	}
	rt := &route.Route{Dir: directory.Internal, Dialed: cred.Ext, To: cred.Ext, CalleeID: cred.UserID,
		CallerID: c.Rt.CallerID, From: c.Rt.From, FromUser: c.Rt.FromUser, FromName: qc.q.Name,
		Targets: c.Core.UserTargets(cred)}
	d := qc.emptyLegDialer(func(d *dial.Dialer, f *dial.Fork, res *sip.Response) { qc.agentAnswered(agent, d, f, res) },
		func(d *dial.Dialer) {
			if queueOf(c) == qc && qc.offers[agent] == d {
				delete(qc.offers, agent)
				rtm.missed(agent, c.ID)
			}
		})
	qc.offers[agent] = d
	if !qc.ringEmptyLeg(d, rt) {
		delete(qc.offers, agent)
		rtm.missed(agent, c.ID)
		return
	}
	c.Log.Info("queue offer", "queue", qc.q.Number, "agent", cred.Ext)
}

// onCancel stops ringing agent.
func (qc *queueCall) onCancel(agent string) {
	if d := qc.offers[agent]; d != nil {
		delete(qc.offers, agent)
		d.CancelAll(nil)
	}
}

// agentAnswered joins the agent whose phone answered with the caller.
func (qc *queueCall) agentAnswered(agent string, d *dial.Dialer, f *dial.Fork, res *sip.Response) {
	c := qc.c
	rtm := qc.rtm
	if queueOf(c) != qc || qc.offers[agent] != d || !qc.waiting || c.State != call.StAnswered {
		f.AckAndBye(res)
		return
	}
	evs, err := rtm.Engine.AgentAnswered(agent, c.ID)
	if err != nil {
		c.Log.Info("queue answer too late", "agent", agent, "err", err)
		f.AckAndBye(res)
		return
	}
	delete(qc.offers, agent)
	qc.waiting, qc.agent = false, agent
	for other, od := range qc.offers { // ring all: the others stop ringing
		od.CancelAll(nil)
		delete(qc.offers, other)
	}
	rtm.leave(c.ID)
	rtm.act(evs)
	if !qc.fill(d, f, res, qc.via+"queue "+qc.q.Number+": answered by "+f.Target.Ext) {
		c.Hangup("system", "queue "+qc.q.Number+": bad sdp from the agent")
	}
}

// fill puts the phone that answered on leg B: the music stops, the CDR
// row gets its callee, and recording starts as the policy says.
func (qc *queueCall) fill(d *dial.Dialer, f *dial.Fork, res *sip.Response, reason string) bool {
	c := qc.c
	d.CancelAll(f)
	if !c.AnswerEmptyLeg(1, f, res, c.Legs[1].Origin) {
		return false
	}
	qc.filled = true
	qc.stopMusic()
	now := time.Now().UTC()
	c.SetParty(1, call.Party{UserID: f.Target.UserID, Num: f.Target.Ext, Ext: f.Target.Ext})
	c.Core.Take(c, f.Target.Ext)
	c.CDR.AnsweredAt, c.CDR.Disposition, c.CDR.Reason = now, directory.Answered, reason
	c.CDR.QueueWait = now.Sub(qc.joined)
	if f.Target.UserID != 0 {
		c.CDR.CalleeID = f.Target.UserID
	}
	if f.Target.Ext != "" {
		c.CDR.To = f.Target.Ext
	}
	c.Show(c.CDR)
	c.Log.Info("queue call answered", "queue", qc.q.Number, "by", f.Target.Ext, "wait", c.CDR.QueueWait)
	c.Core.Taps.Joined(c)
	c.Core.Taps.Answered(c)
	return true
}

// stopMusic closes the music endpoint.
func (qc *queueCall) stopMusic() {
	if qc.ep != nil {
		qc.ep.Close()
		qc.ep = nil
	}
}

// onPosition tells the caller their new position (spoken, or in beeps:
// queueprompts.go) over a pause in the music, which then goes on.
func (qc *queueCall) onPosition(pos int) {
	c := qc.c
	if qc.ep == nil || !qc.waiting || pos <= 0 {
		return
	}
	qc.gen++
	gen := qc.gen
	p := qc.ep.Play(qc.rtm.Prompts.positionClip(pos), false)
	ctx := qc.ctx
	c.WG.Go(func() {
		select {
		case <-p.Done():
			c.Post(queueMusicEvent{gen: gen})
		case <-ctx.Done():
		}
	})
	c.Log.Debug("queue position", "queue", qc.q.Number, "position", pos)
}

// positionBeeps is pos short 1200 Hz beeps (at most 9), between pauses.
func positionBeeps(pos int) *media.Clip {
	clips := []*media.Clip{media.Silence(400)}
	for range min(pos, 9) {
		clips = append(clips, media.Tone(1200, 120, -12), media.Silence(180))
	}
	return media.Concat(append(clips, media.Silence(400))...)
}

// CallEnding runs as the call ends (sip/call's hangup.go, through the rooms): a
// caller still waiting abandons the queue; an agent's call ends
// (wrap-up). gone is the leg nobody is on (-1: none), 1 while leg B was
// never taken. The room closes.
func (qc *queueCall) CallEnding(gone int) int {
	c := qc.c
	c.Rooms.Close(qc)
	for agent, d := range qc.offers {
		d.CancelAll(nil)
		delete(qc.offers, agent)
	}
	if qc.over != nil {
		qc.over.CancelAll(nil)
	}
	qc.stopMusic()
	qc.cancel()
	rtm := qc.rtm
	if qc.waiting {
		qc.waiting = false
		wait := time.Since(qc.joined)
		c.CDR.QueueWait = wait
		if c.CDR.HangupBy == "caller" {
			c.CDR.Disposition = directory.Cancelled
			c.CDR.Reason = qc.via + fmt.Sprintf("abandoned in queue %s after %ds", qc.q.Number, int(wait.Seconds()))
		}
		c.Log.Info("queue call left", "queue", qc.q.Number, "wait", wait, "by", c.CDR.HangupBy, "why", c.CDR.Reason)
		rtm.abandon(c.ID)
	}
	if qc.agent != "" {
		rtm.callEnded(qc.agent)
	}
	if !qc.filled {
		return 1
	}
	return gone
}

// TakeRequest answers what a waiting caller cannot do while nobody is on
// leg B (a re-INVITE with an offer, a transfer), and reports whether it
// answered ev.
func (qc *queueCall) TakeRequest(ev *call.ReqEvent) bool {
	c := qc.c
	if qc.filled {
		return false
	}
	switch {
	case ev.Req.Method == sip.INVITE && len(ev.Req.Body()) > 0:
		c.Core.Responder.Respond(ev.Tx, ev.Req, 488, "Not Acceptable Here (In A Queue)")
	case ev.Req.Method == sip.REFER:
		c.Core.Responder.Respond(ev.Tx, ev.Req, 403, "Forbidden (In A Queue)")
	default:
		return false
	}
	close(ev.Done)
	return true
}

// FromMenu moves a caller an IVR menu answered (sip/ivr) into queue
// q, once the menu's endpoint has gone: one of the queue's plays the
// music on leg B in the codec the menu's had, and the caller is
// enqueued. via is the menu walk, for the row's reason.
func FromMenu(rtm *Runtime, c *call.Call, q *directory.Queue, via string) {
	codec, ok := c.Codecs[1].MediaCodec()
	if !ok || (codec != media.PCMU && codec != media.PCMA) {
		c.SetLegCodec(media.LegB, sdpneg.PCMU)
		codec = media.PCMU
	}
	ip := c.Relay.Local(media.LegB).Addr()
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	ep, err := media.NewEndpoint(media.EndpointConfig{Pool: c.Core.Pool, IP: ip, Codec: codec, Logger: c.Log})
	if err != nil {
		c.Hangup("system", "queue "+q.Number+": no rtp ports")
		return
	}
	ep.SetRemote(netip.AddrPortFrom(ip, c.Relay.Local(media.LegB).Port()))
	c.Relay.SetRemote(media.LegB, ep.Local(), netip.AddrPort{})
	qc := &queueCall{rtm: rtm, c: c, q: *q, key: Key(q.ID), joined: time.Now().UTC(), ep: ep, music: rtm.music(*q),
		offers: map[string]*dial.Dialer{}, via: via}
	qc.ctx, qc.cancel = context.WithCancel(c.ReqCtx)
	c.Rooms.Open(qc)
	c.CDR.Queue = q.Number
	c.SetParty(1, call.Party{Num: q.Number})
	ctx := qc.ctx
	c.WG.Go(func() { _ = ep.Run(ctx) })
	ep.Play(qc.music, true)
	c.Log.Info("call queued from a menu", "queue", q.Number)
	qc.join()
}
