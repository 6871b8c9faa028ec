package ivr

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/queue"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/voicemail"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// The auto attendant. A number that is an IVR menu's
// (directory.IVRMenu), dialed, reached through a DID or through office
// hours' outside-hours target, is answered by the PBX: leg B of the
// call's relay faces a media.Endpoint that plays the menu's greeting and
// hears the caller's digits (ivrdigits.go). The option chosen sends the
// caller on to its target number as if they had dialed it: the router
// resolves it (a user's extension, a group's or a queue's number, another
// menu), and the dialer rings it with an offer on leg B's relay port, as
// park's ring-back does; the phone that answers takes leg B from the
// endpoint and the call goes on as any answered call. A target nobody
// answers brings the caller back to the menu. The voicemail option
// records a message on the endpoint (sip/voicemail).
//
// CDR: the row is answered when the menu answers; its reason names the
// menus and the choice ("ivr 80000 option 1"), its callee is the final
// target. Recording follows the policy at the menu's answer, and again
// with the final callee if the call was not recorded yet.

// ivrMaxHops bounds the menus one call walks through (a menu leading to
// itself through others).
const ivrMaxHops = 20

// ivrSession is the menu part of a call, a room standing on leg B in
// place of a dialog: the endpoint on leg B, the menu playing, and the
// target ringing once a choice is made.
type ivrSession struct {
	b      *call.Core
	ms     *Menus
	c      *call.Call
	ep     *media.Endpoint
	info   chan rune // digits of SIP INFO, for the script
	menu   *directory.IVRMenu
	cancel context.CancelFunc // the script or ring-back tone
	done   chan struct{}      // the script ended
	path   []string           // menu numbers and choices, for the CDR
	hops   int
	ended  bool

	ring  *dial.Dialer // the target ringing
	rt    *route.Route
	slots []string
	timer *time.Timer
}

func (s *ivrSession) RoomName() string { return "menu" }

// ivrRingOver ends the ringing of a target nobody answered.
type ivrRingOver struct {
	sess *ivrSession
	ring *dial.Dialer
}

func (ev ivrRingOver) HandleOn(c *call.Call) {
	if s := ev.sess; !s.ended && s.ring == ev.ring && c.State == call.StAnswered {
		c.Log.Info("ivr: target did not answer", "to", s.rt.To)
		s.back("no answer")
	}
}

func (ev ivrChoice) HandleOn(*call.Call) { ev.sess.onChoice(ev) }

// menuAnswer is the answerer of a route to an IVR menu: the PBX answers
// the call with the menu.
type menuAnswer struct {
	ms   *Menus
	menu *directory.IVRMenu
}

// Menus is the b2bua's service of IVR menus: it routes a menu's number,
// and hands a caller on to a queue or a mailbox.
type Menus struct {
	Core      *call.Core
	Queues    *queue.Runtime
	Voicemail *voicemail.Service
}

// Route makes rt a menu's route when ext is an IVR menu's number; a
// user's extension is never one (it is looked up first, from memory).
func (ms *Menus) Route(ctx context.Context, rt *route.Route, ext string) (bool, *route.Refusal) {
	if directory.ValidateExtension("extension", ext) != nil {
		return false, nil
	}
	if cred, err := ms.Core.Auth.Credential(ext); err != nil || cred != nil {
		return false, nil
	}
	m, err := ms.Core.Store.IVRMenuByNumber(ctx, ext)
	if errors.Is(err, directory.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, route.StoreDown(err)
	}
	rt.To, rt.Answer = ext, menuAnswer{ms: ms, menu: m}
	return true, nil
}

// Refusal refuses a call to a menu the PBX cannot answer: one without
// an SDP offer.
func (menuAnswer) Refusal(c *call.Call) *route.Refusal {
	if c.Late {
		return &route.Refusal{Code: 488, Reason: "Not Acceptable Here (Offer Needed)", Disp: directory.Failed, Why: "menu without an sdp offer"}
	}
	return nil
}

// AnswerCall answers the caller for the menu. It runs in beginOn,
// before the actor.
func (a menuAnswer) AnswerCall(c *call.Call) {
	codec, event := sdpneg.G711Offer(c.AReq.Body())
	ip := c.Core.Config.MediaIP
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	ep, err := media.NewEndpoint(media.EndpointConfig{Pool: c.Core.Pool, IP: ip, Codec: codec, EventType: event, Logger: c.Log})
	if err != nil {
		c.Log.Warn("menu not answered: no rtp ports", "err", err)
		c.EndRinging(503, "Service Unavailable", directory.Failed, "system")
		return
	}
	ep.SetRemote(netip.AddrPortFrom(ip, c.Relay.Local(media.LegB).Port()))
	body, err := c.AnswerSDP(sdpneg.EndpointSDP(ep.Local().Addr(), ep.Local().Port(), codec, event))
	if err != nil {
		ep.Close()
		c.Log.Info("menu not answered: sdp", "err", err)
		c.EndRinging(488, "Not Acceptable Here", directory.Failed, "system")
		return
	}
	s := &ivrSession{b: a.ms.Core, ms: a.ms, c: c, ep: ep, info: make(chan rune, 16)}
	c.Rooms.Open(s)
	c.WG.Go(func() { _ = ep.Run(c.Core.Ctx) })

	now := time.Now().UTC()
	c.State = call.StAnswered
	c.BAcked = true
	c.Relay.Arm()
	c.CDR.AnsweredAt = now
	c.CDR.Disposition = directory.Answered
	c.Core.Taps.Joined(c)
	c.Legs[0].Dialog = c.Core.UASDialog(c.AReq)
	ok200 := c.OKResponse(c.AReq, body, c.Legs[0].Dialog.Contact)
	c.AAnswered = true
	if err := c.ATx.Respond(ok200); err != nil {
		c.Log.Info("200 to caller not sent", "err", err)
		c.Hangup("system", "caller unreachable")
		c.CloseAFinal()
		return
	}
	c.Core.Taps.Answered(c)
	c.Log.Info("call answered by menu", "menu", a.menu.Number, "codec", codec)
	c.AwaitAck(c.AReq, call.Pending2xx{FromA: true, Tx: c.ATx, Res: ok200, Done: c.AFinal, Initial: true})
	s.play(a.menu)
}

// play starts m's script on the session's endpoint.
func (s *ivrSession) play(m *directory.IVRMenu) {
	c := s.c
	s.stopScript()
	s.menu = m
	s.path = append(s.path, m.Number)
	s.writeReason()
	greeting := ivrDefaultGreeting
	if m.Greeting != "" {
		if g, err := media.LoadWAV(m.Greeting); err != nil {
			c.Log.Warn("menu greeting not played", "menu", m.Number, "path", m.Greeting, "err", err)
		} else {
			greeting = g
		}
	}
	ctx, cancel := context.WithCancel(c.Core.Ctx)
	done := make(chan struct{})
	s.cancel, s.done = cancel, done
	sc := &ivrScript{menu: *m, greeting: greeting, ep: s.ep, info: s.info, post: c.Post, sess: s}
	c.WG.Go(func() {
		defer close(done)
		sc.run(ctx)
	})
	c.Log.Info("menu playing", "menu", m.Number, "name", m.Name)
}

// drain drops the digits pressed while a target rang: they were not
// meant for the menu heard again. (Digits typed ahead of a menu that
// follows a choice are kept: callers who know the menus type on.)
func (s *ivrSession) drain() {
	for {
		select {
		case <-s.ep.Digits():
		case <-s.info:
		default:
			return
		}
	}
}

// stopScript stops what plays on the endpoint and waits for it.
func (s *ivrSession) stopScript() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
		s.cancel, s.done = nil, nil
	}
}

// onChoice carries out what the caller chose.
func (s *ivrSession) onChoice(ev ivrChoice) {
	c := s.c
	if s.ended || c.State != call.StAnswered || s.ring != nil {
		return
	}
	s.stopScript()
	s.path = append(s.path, ev.why)
	s.writeReason()
	c.Log.Info("ivr choice", "menu", s.menu.Number, "choice", ev.why, "action", ev.action, "target", ev.target)
	switch ev.action {
	case directory.IVRHangup:
		s.writeReason()
		c.Hangup("system", c.CDR.Reason)
		return
	case directory.IVRVoicemail:
		s.voicemail(ev.target)
		return
	}
	s.goTo(ev.target)
}

// goTo routes number as if the caller had dialed it: another menu plays,
// a queue takes the caller, anything else rings.
func (s *ivrSession) goTo(number string) {
	c := s.c
	rt := &route.Route{Dir: c.Rt.Dir, Dialed: number, From: c.Rt.From, CallerID: c.Rt.CallerID, FromUser: c.Rt.FromUser,
		FromName: c.Rt.FromName}
	self := ""
	if c.Caller != nil {
		self = c.Caller.Ext
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	ref := c.Core.RouteNumber(ctx, rt, number, self) // sip/route
	cancel()
	if ref != nil {
		c.Log.Info("ivr: target refused", "to", number, "code", ref.Code, "why", ref.Why)
		s.back(ref.Why)
		return
	}
	switch a := rt.Answer.(type) {
	case queue.Answer: // queuecall.go: the caller waits there
		via := s.via()
		s.EndFarEnd()
		queue.FromMenu(s.ms.Queues, c, a.Queue, via)
		return
	case menuAnswer:
		if s.hops++; s.hops > ivrMaxHops {
			c.Hangup("system", "ivr: too many menus")
			return
		}
		s.play(a.menu)
		return
	}
	targets, spare := dial.Pick(rt, c.Core.Busy)
	if len(targets) == 0 {
		s.back("callee call limit")
		return
	}
	d := &dial.Dialer{Env: c.Env, OnFork: func(f *dial.Fork) { c.XForks = append(c.XForks, f) },
		OnResponse: s.onResponse, OnFailed: func(*dial.Fork) { s.ringFailed() }, Spare: spare,
		Source: c.AReq.Body(), Origin: &c.Legs[1].Origin, Leg: media.LegB, SendRecv: true}
	if err := d.Address(targets[0].Dest); err != nil {
		c.Log.Info("ivr: no sdp for the target", "err", err)
		s.back("no sdp for the target")
		return
	}
	s.ring, s.rt = d, rt
	s.slots = c.Core.TakeNew(c, dial.Exts(targets)...)
	ctx2, cancel2 := context.WithCancel(c.Core.Ctx)
	done := make(chan struct{})
	s.cancel, s.done = cancel2, done
	c.WG.Go(func() {
		defer close(done)
		p := s.ep.Play(ivrRingback, true)
		<-ctx2.Done()
		p.Stop()
	})
	d.DialAll(rt, targets)
	s.timer = time.AfterFunc(c.Core.Config.RingTime, func() { c.Post(ivrRingOver{sess: s, ring: d}) })
	if d.AllFailed() {
		s.ringFailed()
	}
}

func (s *ivrSession) onResponse(f *dial.Fork, tx sip.ClientTransaction, res *sip.Response) {
	if !f.Settle(tx, res) {
		return
	}
	c := s.c
	mine := !s.ended && s.ring != nil && slices.Contains(s.ring.Forks, f)
	if res.IsSuccess() {
		if !mine || c.State != call.StAnswered {
			f.AckAndBye(res)
			return
		}
		s.answered(f, res)
		return
	}
	if mine {
		s.ringFailed()
	}
}

// ringFailed runs when a fork ringing the target failed.
func (s *ivrSession) ringFailed() {
	if !s.ended && s.ring != nil && s.ring.AllFailed() && s.c.State == call.StAnswered {
		s.back("not reached")
	}
}

// stopRing stops ringing the target and gives back its call slots.
func (s *ivrSession) stopRing(keep *dial.Fork) {
	c := s.c
	if s.ring == nil {
		return
	}
	s.ring.CancelAll(keep)
	s.ring = nil
	if s.timer != nil {
		s.timer.Stop()
	}
	var free []string
	for _, ext := range s.slots {
		if keep == nil || ext != keep.Target.Ext {
			free = append(free, ext)
		}
	}
	c.Core.Release(c, free...)
	s.slots = nil
}

// back brings the caller back to the menu they chose in, after a
// target that could not be reached.
func (s *ivrSession) back(why string) {
	s.stopScript()
	s.stopRing(nil)
	s.path = append(s.path, why)
	if s.hops++; s.hops > ivrMaxHops {
		s.c.Hangup("system", "ivr: "+why)
		return
	}
	s.drain()
	s.play(s.menu)
}

// answered puts the target's phone that answered on leg B in place of
// the endpoint.
func (s *ivrSession) answered(f *dial.Fork, res *sip.Response) {
	c := s.c
	d := dial.ForkDialog(f, res)
	if err := f.Ack(d.Request(sip.ACK)); err != nil {
		c.Log.Info("ack not sent", "err", err)
	}
	_, m, err := sdpneg.Parse(res.Body())
	if err != nil {
		c.Log.Info("bad sdp from the menu's target", "err", err)
		bye := d.Request(sip.BYE)
		c.WG.Go(func() { c.SendBye(bye) })
		s.back("bad sdp answer")
		return
	}
	rt := s.rt
	s.stopRing(f)
	s.EndFarEnd()
	// New addresses: the relay's leg B unlatches from the endpoint and
	// latches onto the phone (media.Relay.SetRemote).
	c.SetLegCodec(media.LegB, sdpneg.FirstVoice(res.Body()))
	sdpneg.SetMedia(c.Relay, media.LegB, m)
	c.Relay.SetHold(media.LegB, m.Hold)
	c.Legs[1].Dialog, c.Legs[1].SDP = d, f.Req.Body()
	c.Relay.SetPeer(media.LegB, leg.PeerIP(d.Dest))
	t := f.Target
	c.BTarget = &t
	c.Rt.To, c.Rt.CalleeID, c.Rt.GroupID = rt.To, f.Target.UserID, rt.GroupID
	c.SetParties(c.Rt, c.CallerExt(), f.Target)
	num := f.Target.Ext
	if num == "" {
		num = rt.To
	}
	c.CDR.To, c.CDR.CalleeID, c.CDR.GroupID = num, f.Target.UserID, rt.GroupID
	s.writeReason()
	c.Show(c.CDR)
	// The policy may cover the callee only (a call recorded already goes
	// on as it is).
	c.Core.Taps.Joined(c)
	c.Core.Taps.Answered(c)
	c.Log.Info("ivr: target answered", "to", num, "path", strings.Join(s.path, " "))
}

// via is the menu walk that brought the caller where they are, for the
// reason of a row a later room (a queue) writes: "ivr 80000 option 1, ".
func (s *ivrSession) via() string {
	return "ivr " + strings.Join(s.path, " ") + ", "
}

// writeReason writes the menu walk into the CDR's reason.
func (s *ivrSession) writeReason() {
	if !s.ended {
		s.c.CDR.Reason = "ivr " + strings.Join(s.path, " ")
	}
}

// voicemail records a message for the mailbox of number (a user's
// extension or a group's number) on the session's endpoint; a number
// without an enabled mailbox brings the caller back to the menu.
func (s *ivrSession) voicemail(number string) {
	c := s.c
	var userID, groupID int64
	var dir string
	if cred, err := s.b.Auth.Credential(number); err == nil && cred != nil {
		userID, dir = cred.UserID, strconv.FormatInt(cred.UserID, 10)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
		g, err := s.b.Store.GroupByExtension(ctx, number)
		cancel()
		if err != nil {
			c.Log.Info("ivr: no mailbox", "number", number, "err", err)
			s.back("no mailbox")
			return
		}
		groupID, dir = g.ID, "g"+strconv.FormatInt(g.ID, 10)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	mb, err := s.b.Store.Mailbox(ctx, userID, groupID)
	cancel()
	if err != nil || !mb.Enabled || s.b.RecordingsDir == "" {
		c.Log.Info("ivr: mailbox not enabled", "number", number, "err", err)
		s.back("no mailbox")
		return
	}
	caller := c.Rt.From
	if c.Caller != nil {
		caller = c.Caller.Ext
	}
	dep, greeting, err := s.ms.Voicemail.NewDeposit(c, mb, userID, groupID, dir, caller, s.ep)
	if err != nil {
		c.Log.Error("ivr: voicemail not offered", "err", err)
		s.back("voicemail unavailable")
		return
	}
	s.path = append(s.path, "voicemail "+number)
	s.writeReason()
	c.CDR.To, c.CDR.CalleeID, c.CDR.GroupID = number, userID, groupID
	c.Show(c.CDR)
	// The endpoint is the message's now: the session ends without it.
	s.ep = nil
	s.EndFarEnd()
	c.Rooms.Open(dep)
	close(dep.Ready) // the caller's media is known: the menu answered
	rctx, rcancel := context.WithCancel(c.Core.Ctx)
	dep.Cancel = rcancel
	c.WG.Go(func() { dep.Script(rctx, greeting) })
	c.Log.Info("ivr: call to voicemail", "user_id", userID, "group_id", groupID, "number", number)
}

// EndFarEnd ends the menu part of the call: the script, any ringing and
// the endpoint (unless a voicemail message took it over); the room
// closes. The core calls it where it would send leg B a BYE.
func (s *ivrSession) EndFarEnd() {
	if s.ended {
		return
	}
	s.ended = true
	s.stopScript()
	s.stopRing(nil)
	if s.ep != nil {
		s.ep.Close()
	}
	s.c.Rooms.Close(s)
}

// TakeRequest answers what the caller sends in the menu: INFO digits go
// to the script; a re-INVITE or REFER is refused (leg B has no dialog
// yet). It reports whether it answered ev.
func (s *ivrSession) TakeRequest(ev *call.ReqEvent) bool {
	c := s.c
	if !ev.FromA {
		return false
	}
	switch ev.Req.Method {
	case sip.INFO:
		d, ok := wire.DTMFRelay(ev.Req)
		if !ok {
			c.Core.Responder.Respond(ev.Tx, ev.Req, 415, "Unsupported Media Type")
			break
		}
		c.Core.Responder.Respond(ev.Tx, ev.Req, 200, "OK")
		select {
		case s.info <- d:
		default:
		}
	case sip.INVITE:
		c.Core.Responder.Respond(ev.Tx, ev.Req, 488, "Not Acceptable Here (Menu)")
	case sip.REFER:
		c.Core.Responder.Respond(ev.Tx, ev.Req, 403, "Forbidden (Menu)")
	default:
		return false
	}
	close(ev.Done)
	return true
}
