package paging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/intercom"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Paging (*91GROUP): one talker heard at once by every member of a group,
// one-way. The PBX answers the talker's INVITE (we are its UAS) and rings
// each member's registered phones with the intercom's auto-answer headers
// (we are their UAC), one dialer per member, so that the first of a
// member's phones to answer wins and the others are cancelled. Each member
// who answers becomes a listener of a media.Fanout on which the talker's
// leg is the source. The talker is answered when the first member is
// connected; members who have not answered within pageAnswerWait are
// skipped. The talker's hangup ends every listener's dialog with BYE; a
// listener who hangs up leaves the others, and the page ends (BYE to the
// talker) when no listener is left. The page is one CDR row whose reason
// begins with "paging". Paging needs calls.intercom on each member: those
// outside its scope are not rung, nor are members in Do Not Disturb or in
// a call (their phone would put the call on hold to answer the page).

// Pager is the paging service of b2bua: it starts pages and files each
// page's dialogs, so that their requests find it.
type Pager struct {
	Core     *call.Core
	Intercom *intercom.Intercom // who may call whom on intercom, and its answer headers
	pages    sync.Map           // Call-ID → *pageSession: pages' dialogs
}

// pageAnswerWait is how long members' phones may take to answer a page.
const pageAnswerWait = 5 * time.Second

// pageLinger is how long an ended page still waits for the final
// responses of forks it cancelled (a 2xx that crossed the CANCEL is ACKed
// and hung up).
const pageLinger = 5 * time.Second

// pageSession is one page: the talker's dialog, the members rung and the
// fanout. One goroutine (run) owns it; SIP handlers post it events.
type pageSession struct {
	b      *call.Core
	pager  *Pager
	id     string // Call-ID of the talker's dialog
	log    *slog.Logger
	caller *call.Credential
	req    *sip.Request // the talker's INVITE, with our To-tag
	tx     sip.ServerTransaction
	fan    *media.Fanout
	codec  media.Codec
	rt     *route.Route // what the members' INVITEs say: from the talker, auto-answer
	env    *dial.Env
	ctx    context.Context // the members' transactions end with it
	cancel context.CancelFunc
	wg     sync.WaitGroup // fork watchers, BYEs and CANCELs in flight, the fanout
	filed  []string       // Call-IDs filed under the page in pager.pages

	members []*pageMember
	dlg     leg.Dialog // the talker's, once answered
	sdp     []byte     // our answer to the talker
	// final hands the talker's INVITE handler our 200 (it retransmits it
	// until the ACK), or nil when an error response went.
	final    chan *sip.Response
	acked    chan struct{}
	ackOnce  sync.Once
	answered bool // the 200 went to the talker
	finished bool // the talker has its final response
	ended    bool
	cdr      directory.Call
	lamps    call.LegStates // what busy lamps and presence were told (liveLegs)

	call.Mailbox // the page's events
}

// pageMember is one member of the paged group: the dialer ringing their
// phones, their listener leg and, once a phone answered, its dialog.
type pageMember struct {
	cred   *call.Credential
	d      *dial.Dialer
	l      *media.Listener
	offer  []byte
	won    *dial.Fork
	dlg    leg.Dialog
	joined bool // connected as a listener
	left   bool // hung up, or hung up on
}

// Events a page posts to itself.
type (
	pageCancel   struct{}            // the talker cancelled its INVITE
	pageNoAck    struct{}            // the talker never ACKed our 200
	pageMediaEnd struct{ err error } // the fanout stopped (media timeout)
)

// Page starts a page from caller to the group ext. It returns once the
// talker's INVITE has its final response (and, for a 200, its ACK).
func (pg *Pager) Page(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential, ext string) {
	ps, ref := pg.open(req, tx, caller, ext)
	if ref != nil {
		pg.refuse(req, tx, caller, ext, ref)
		return
	}
	if !tx.OnCancel(func(*sip.Request) { ps.Post(pageCancel{}) }) {
		ps.Post(pageCancel{}) // the transaction is gone already
	}
	pg.Core.WG.Go(ps.run)
	if res := <-ps.final; res != nil {
		ps.waitAck(tx, res)
	}
}

// open checks the talker's offer and rights, finds the members to ring
// and binds the fanout and a listener leg per member.
func (pg *Pager) open(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential, ext string) (*pageSession, *route.Refusal) {
	b := pg.Core
	sd, offer, err := sdpneg.Parse(req.Body())
	if len(req.Body()) == 0 || err != nil {
		return nil, &route.Refusal{Code: 488, Reason: "Not Acceptable Here (Offer Needed)", Disp: directory.Failed, Why: "bad sdp offer"}
	}
	codec, ok := sdpneg.G711(sd)
	if !ok {
		return nil, &route.Refusal{Code: 488, Reason: "Not Acceptable Here (G.711 Needed)", Disp: directory.Failed, Why: "no g.711 in offer"}
	}
	if offer.Secure { // the fanout relays plain RTP; SRTP offered best effort is answered plain
		return nil, &route.Refusal{Code: 488, Reason: "Not Acceptable Here (Plain RTP Needed)", Disp: directory.Failed, Why: "srtp-only offer"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	defer cancel()
	subj, ref := pg.Intercom.Subject(ctx, caller)
	if ref != nil {
		return nil, ref
	}
	g, err := b.Store.GroupByExtension(ctx, ext)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, route.NotFound // a user is called on intercom (*90), not paged
	}
	if err != nil {
		return nil, route.StoreDown(err)
	}
	ids, err := b.Store.GroupMembers(ctx, g.ID)
	if err != nil {
		return nil, route.StoreDown(err)
	}
	var members []*pageMember
	var denied *route.Refusal
	var targets [][]route.Target
	for _, id := range ids {
		m, ok := b.Creds.ByID(id)
		if !ok || m.Ext == caller.Ext || m.Forward.DND || b.InCall(m.Ext) {
			continue // a phone answering by itself would put its call on hold
		}
		if ref := intercom.IntercomAllowed(subj, m.UserID); ref != nil {
			denied = ref
			continue
		}
		if ts := b.UserTargets(m); len(ts) > 0 {
			members = append(members, &pageMember{cred: m})
			targets = append(targets, ts)
		}
	}
	if len(members) == 0 {
		if denied != nil {
			return nil, denied
		}
		return nil, route.Offline
	}

	mip := b.Config.MediaIP
	if !mip.IsValid() {
		mip = netip.IPv4Unspecified()
	}
	fan, err := media.NewFanout(media.FanoutConfig{Pool: b.Pool, IP: mip, Timeout: max(b.Config.MediaTimeout, 0),
		Logger: b.Log})
	if err != nil {
		return nil, &route.Refusal{Code: 503, Reason: "Service Unavailable", Disp: directory.Failed, Why: "no rtp ports"}
	}
	fan.SetRemote(offer.RTP, offer.RTCP)
	fan.SetPeer(leg.PeerIP(req.Source()))
	tagged := req.Clone()
	tagged.To().Params.Add("tag", sip.GenerateTagN(16))
	id := req.CallID().Value()
	ps := &pageSession{b: b, pager: pg, id: id, log: b.Log.With("call_id", id, "group", ext), caller: caller, req: tagged,
		tx: tx, fan: fan, codec: codec, members: members, final: make(chan *sip.Response, 1),
		acked: make(chan struct{}), Mailbox: call.NewMailbox(),
		rt: &route.Route{Dir: directory.Internal, Dialed: wire.UnescapeUser(req.Recipient.User), FromName: req.From().DisplayName,
			From: caller.Ext, FromUser: caller.Ext, CallerID: caller.UserID, To: ext, GroupID: g.ID,
			Headers: intercom.AutoAnswerHeaders(b.Realm())},
		cdr: directory.Call{SIPCallID: id, StartedAt: time.Now().UTC(), Node: b.Node,
			Direction: directory.Internal, Dialed: wire.UnescapeUser(req.Recipient.User), CallerID: caller.UserID,
			GroupID: g.ID, From: caller.Ext, To: ext, Disposition: directory.Failed}}
	ps.ctx, ps.cancel = context.WithCancel(context.Background())
	ps.env = &dial.Env{Client: b.Client, UserAgent: b.UserAgent, Log: ps.log, Ctx: ps.ctx, WG: &ps.wg,
		Post: ps.Post, File: ps.file, Contact: b.ContactFor, MediaIP: b.MediaIP, SendAndWait: b.SendAndWait,
		Hops: wire.HopLimit(req) - 1}
	for i, m := range members {
		if m.l, err = fan.AddListener(); err != nil {
			fan.Close()
			ps.cancel()
			return nil, &route.Refusal{Code: 503, Reason: "Service Unavailable", Disp: directory.Failed, Why: "no rtp ports"}
		}
		m.offer = sdpneg.G711SDP(b.MediaIP(targets[i][0].Dest), m.l.Local().Port(), codec, "sendonly")
		m.d = &dial.Dialer{Env: ps.env, Offer: m.offer, OfferIP: b.MediaIP(targets[i][0].Dest),
			Origin: &sdpneg.Origin{ID: uint64(time.Now().UnixNano() & 0x7fffffffffff)}, Leg: media.LegB}
		m.d.OnResponse = func(f *dial.Fork, tx sip.ClientTransaction, res *sip.Response) { ps.memberResponse(m, f, tx, res) }
		m.d.OnFailed = func(*dial.Fork) { ps.memberFailed(m) }
	}
	if _, loaded := pg.pages.LoadOrStore(id, ps); loaded {
		fan.Close()
		ps.cancel()
		return nil, &route.Refusal{Code: 482, Reason: "Loop Detected", Disp: directory.Failed, Why: "call-id in use"}
	}
	ps.filed = append(ps.filed, id)
	ps.wg.Go(func() { ps.Post(pageMediaEnd{fan.Run(b.Ctx)}) })
	for i, m := range members {
		m.d.DialAll(ps.rt, targets[i])
	}
	return ps, nil
}

// refuse answers a page that goes nowhere and writes its CDR row.
func (pg *Pager) refuse(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential, ext string, ref *route.Refusal) {
	b := pg.Core
	b.Log.Info("page refused", "call_id", req.CallID().Value(), "code", ref.Code, "why", ref.Why, "err", ref.Err)
	b.Responder.Respond(tx, req, ref.Code, ref.Reason)
	now := time.Now().UTC()
	pg.cdr(directory.Call{SIPCallID: req.CallID().Value(), StartedAt: now, EndedAt: now, Node: b.Node,
		Direction: directory.Internal, Dialed: wire.UnescapeUser(req.Recipient.User), CallerID: caller.UserID,
		From: caller.Ext, To: ext, Disposition: ref.Disp, Reason: "paging: " + ref.Why, HangupBy: "system"})
}

// cdr stores a page's history row.
func (pg *Pager) cdr(row directory.Call) {
	b := pg.Core
	row.Key = call.NewRowKey()
	if row.EndedAt.IsZero() {
		row.EndedAt = time.Now().UTC()
	}
	if err := b.History.SaveCall(context.Background(), &row); err != nil {
		b.Log.Error("call history row not written", "err", err, "from", row.From, "to", row.To)
	}
	b.Counters.Call(row)
	if h := b.Hooks.Ended; h != nil {
		h(row)
	}
}

// file files a member's Call-ID under the page, so that their BYE finds
// it. Called on the page's goroutine.
func (ps *pageSession) file(callID string) {
	ps.pager.pages.Store(callID, ps)
	ps.filed = append(ps.filed, callID)
}

// run is the page's goroutine: it lives until the page ended and every
// fork has its final response (or pageLinger is over), then frees the
// ports, waits for what it started and writes the CDR row.
func (ps *pageSession) run() {
	wait := time.NewTimer(pageAnswerWait)
	defer wait.Stop()
	var linger <-chan time.Time
	shutdown := ps.b.Ctx.Done()
	for _, m := range ps.members { // an INVITE that could not be sent
		if m.d.AllFailed() {
			ps.memberFailed(m)
		}
	}
	for !ps.ended || !ps.forksDone() {
		ps.lamps.Sync(ps.b.LegObservers, ps.id, ps.liveLegs())
		if ps.ended && linger == nil {
			t := time.NewTimer(pageLinger)
			defer t.Stop()
			linger = t.C
		}
		select {
		case <-ps.Wake:
			for _, ev := range ps.TakeEvents() {
				ps.handle(ev)
			}
		case <-wait.C:
			ps.answerWaitOver()
		case <-shutdown:
			shutdown = nil
			ps.end("system", "; shutdown")
		case <-linger:
			ps.log.Debug("page ends with forks unanswered")
			ps.forceDone()
		}
	}
	ps.lamps.Sync(ps.b.LegObservers, ps.id, nil) // every leg is over
	ps.Mu.Lock()
	ps.Closed = true
	rest := ps.Queue
	ps.Queue = nil
	ps.Mu.Unlock()
	for _, ev := range rest {
		if r, ok := ev.(*call.ReqEvent); ok {
			ps.b.Responder.Respond(r.Tx, r.Req, 481, "Call/Transaction Does Not Exist")
			close(r.Done)
		}
	}
	for _, m := range ps.members {
		for _, f := range m.d.Forks {
			if f.Tx != nil {
				f.Tx.Terminate() // an answered INVITE's lingers for 64·T1
			}
		}
	}
	ps.fan.Close()
	ps.cancel()
	ps.wg.Wait()
	for _, id := range ps.filed {
		ps.pager.pages.Delete(id)
	}
	joined := 0
	for _, m := range ps.members {
		if m.joined {
			joined++
		}
	}
	ps.cdr.Reason = fmt.Sprintf("paging: %d of %d members answered", joined, len(ps.members)) + ps.cdr.Reason
	ps.pager.cdr(ps.cdr)
	ps.log.Info("page ended", "answered", joined, "members", len(ps.members), "by", ps.cdr.HangupBy)
}

// liveLegs lists the extension legs of the page now, for busy lamps and
// presence: the talker's (ringing until answered), each listener's, and
// each member's phone still ringing.
func (ps *pageSession) liveLegs() []call.LegEvent {
	if ps.ended {
		return nil
	}
	talker := call.LegEvent{LegID: ps.id, Ext: ps.caller.Ext, UserID: ps.caller.UserID, Initiator: true,
		State: call.LegRinging, Peer: ps.rt.To}
	if ps.answered {
		talker.State = call.LegAnswered
	}
	live := []call.LegEvent{talker}
	for _, m := range ps.members {
		leg := call.LegEvent{Ext: m.cred.Ext, UserID: m.cred.UserID, Peer: ps.caller.Ext}
		switch {
		case m.joined && !m.left:
			leg.LegID, leg.State = m.dlg.CallID, call.LegAnswered
			live = append(live, leg)
		case m.won == nil && m.l != nil:
			for _, f := range m.d.Forks {
				if f.Final == nil && f.Tx != nil && !f.Cancelled {
					leg.LegID, leg.State = f.Req.CallID().Value(), call.LegRinging
					live = append(live, leg)
				}
			}
		}
	}
	return live
}

// handle runs one event on the page's goroutine.
func (ps *pageSession) handle(ev any) {
	switch ev := ev.(type) {
	case dial.Event: // a response, or the end of a transaction
		ev.Deliver(ps.log)
	case *call.ReqEvent:
		ps.onRequest(ev)
		close(ev.Done)
	case pageCancel:
		if !ps.finished {
			ps.finished = true // sipgo answered 487
			ps.final <- nil
			ps.cdr.Disposition = directory.Cancelled
			ps.end("caller", "")
		}
	case pageNoAck:
		ps.end("system", "; no ack from the talker")
	case pageMediaEnd:
		if errors.Is(ev.err, media.ErrTimeout) {
			ps.end("system", "; media timeout")
		}
	}
}

// memberResponse takes a response to the INVITE of one of m's phones.
func (ps *pageSession) memberResponse(m *pageMember, f *dial.Fork, tx sip.ClientTransaction, res *sip.Response) {
	if !f.Settle(tx, res) {
		return
	}
	if !res.IsSuccess() {
		ps.memberFailed(m)
		return
	}
	if m.won != nil || ps.ended || m.l == nil {
		f.AckAndBye(res) // another of m's phones won, or too late
		return
	}
	ps.join(m, f, res)
}

// join connects the phone of m that answered as a listener, and answers
// the talker if nobody had yet.
func (ps *pageSession) join(m *pageMember, f *dial.Fork, res *sip.Response) {
	m.won = f
	m.d.CancelAll(f)
	m.dlg = dial.ForkDialog(f, res)
	if err := f.Ack(m.dlg.Request(sip.ACK)); err != nil {
		ps.log.Info("ack not sent", "ext", m.cred.Ext, "err", err)
	}
	_, md, err := sdpneg.Parse(res.Body())
	if err != nil {
		ps.log.Info("page member's answer refused: bad sdp", "ext", m.cred.Ext, "err", err)
		ps.hangUpMember(m)
		return
	}
	m.l.SetRemote(md.RTP, md.RTCP)
	m.l.SetPeer(leg.PeerIP(m.dlg.Dest))
	m.joined = true
	ps.log.Info("page member joined", "ext", m.cred.Ext, "dest", f.Target.Dest)
	if !ps.answered && !ps.finished {
		ps.answerTalker()
	}
}

// memberFailed runs when a fork of m failed: once all of them have, m is
// skipped and their listener leg goes.
func (ps *pageSession) memberFailed(m *pageMember) {
	if m.won != nil || !m.d.AllFailed() || m.l == nil {
		return
	}
	ps.fan.Remove(m.l)
	m.l = nil
	ps.checkListeners()
}

// answerWaitOver skips the members whose phones have not answered yet.
func (ps *pageSession) answerWaitOver() {
	for _, m := range ps.members {
		if m.won == nil {
			m.d.CancelAll(nil)
		}
	}
	if !ps.answered {
		ps.end("system", "; nobody answered")
	}
}

// checkListeners ends the page when nobody listens and nobody rings.
func (ps *pageSession) checkListeners() {
	for _, m := range ps.members {
		if (m.joined && !m.left) || (m.won == nil && m.l != nil) {
			return
		}
	}
	note := "" // the last listener left
	if !ps.answered {
		note = "; nobody answered"
	}
	ps.end("system", note)
}

// end ends the page: ringing phones are cancelled, listeners and (unless
// they hung up) the talker get BYE, a talker not answered yet gets 480.
// by is who ended it; note is added to the CDR reason.
func (ps *pageSession) end(by, note string) {
	if ps.ended {
		return
	}
	ps.ended = true
	ps.cdr.HangupBy = by
	ps.cdr.Reason = note
	for _, m := range ps.members {
		m.d.CancelAll(nil)
		if m.joined && !m.left {
			ps.hangUpMember(m)
		}
	}
	if !ps.finished {
		ps.finished = true
		ps.cdr.Disposition = directory.NoAnswer
		if ps.b.Ctx.Err() != nil {
			ps.cdr.Disposition = directory.Failed
		}
		ps.b.Responder.Send(ps.tx, sip.NewResponseFromRequest(ps.req, 480, "Temporarily Unavailable", nil))
		ps.final <- nil
	}
	if ps.answered && by != "caller" {
		bye := ps.dlg.Request(sip.BYE)
		ps.wg.Go(func() {
			// RFC 3261 §15: the BYE waits for the ACK of our 200.
			t := time.NewTimer(64 * sip.T1)
			defer t.Stop()
			select {
			case <-ps.acked:
			case <-t.C:
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
			defer cancel()
			_, _ = ps.b.SendAndWait(ctx, bye)
		})
	}
}

// forksDone reports whether every fork has its final response.
func (ps *pageSession) forksDone() bool {
	for _, m := range ps.members {
		for _, f := range m.d.Forks {
			if f.Final == nil && f.Tx != nil {
				return false
			}
		}
	}
	return true
}

// forceDone gives up on forks that never answered.
func (ps *pageSession) forceDone() {
	for _, m := range ps.members {
		for _, f := range m.d.Forks {
			if f.Final == nil {
				f.Final = sip.NewResponseFromRequest(f.Req, 408, "Request Timeout", nil)
			}
		}
	}
}
