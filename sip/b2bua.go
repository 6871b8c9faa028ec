package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/forward"
	"github.com/switchboard-pbx/switchboard/sip/intercom"
	"github.com/switchboard-pbx/switchboard/sip/ivr"
	"github.com/switchboard-pbx/switchboard/sip/monitor"
	"github.com/switchboard-pbx/switchboard/sip/paging"
	"github.com/switchboard-pbx/switchboard/sip/park"
	"github.com/switchboard-pbx/switchboard/sip/pickup"
	"github.com/switchboard-pbx/switchboard/sip/queue"
	"github.com/switchboard-pbx/switchboard/sip/record"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/transfer"
	"github.com/switchboard-pbx/switchboard/sip/voicemail"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// b2bua is the call side of the server: the call core (sip/call: the
// call table, what every call needs of the server) and the features'
// services on top of it, which it builds and wires. Every call is a
// *call.Call with its own goroutine (the actor) that owns both legs; SIP
// handlers only find the call and post it an event.
type b2bua struct {
	*call.Core
	s *Server

	codes featureCodes // feature codes dialed (features.go)

	lot *park.Lot // call park: the orbits and what they hold

	forwards   *forward.Forwarding // call forwarding
	monitors   *monitor.Monitoring // supervisors on calls
	recordings *record.Recordings  // call recording
	replacing  *transfer.Replacing // INVITE with Replaces

	queues *queue.Runtime // call queues

	pickups  *pickup.Board      // call pickup
	intercom *intercom.Intercom // intercom calls
	pager    *paging.Pager      // paging
	vm       *voicemail.Service // voicemail

	ackTaken func(*sip.Request) // onAck, wrapped as the server's handlers are (takeAck)
}

func newB2BUA(s *Server, cfg CallConfig) (*b2bua, error) {
	var recDir string
	if dir := s.cfg.RecordingsDir; dir != "" {
		var err error
		if recDir, err = filepath.Abs(dir); err != nil {
			return nil, fmt.Errorf("recordings directory: %w", err)
		}
	}
	cc, err := call.NewCore(cfg, call.CoreParts{Log: s.log, RecordingsDir: recDir, Responder: s.rp,
		Client: s.client, Realm: s.realm, Node: s.cfg.Node, UserAgent: s.cfg.UserAgent,
		StoreTimeout: s.cfg.StoreTimeout, Counters: &s.counters, History: s.history, LegObservers: &s.legObs,
		Bindings: s.loc, Carriers: s.tk})
	if err != nil {
		return nil, err
	}
	b := &b2bua{Core: cc, s: s}
	b.lot = &park.Lot{Core: b.Core, Orbits: park.NewOrbitTable(), Features: s.features.get, Lamps: s.pres}
	b.pickups = &pickup.Board{Core: b.Core}
	b.intercom = &intercom.Intercom{Core: b.Core}
	b.pager = &paging.Pager{Core: b.Core, Intercom: b.intercom}
	s.watchLegs(b.pickups.Leg)
	b.forwards = &forward.Forwarding{Core: b.Core}
	b.monitors = &monitor.Monitoring{Core: b.Core}
	b.recordings = &record.Recordings{Core: b.Core}
	b.replacing = &transfer.Replacing{Core: b.Core}
	b.Taps = call.Taps{b.recordings}
	b.RingFailed = b.forwards.RingFailed
	b.queues = queue.NewRuntime(b.Core)
	b.queues.MOH = b.lot.Orbits.MusicOnHold
	b.codes = featureCodes{b: b}
	b.vm = &voicemail.Service{Core: b.Core, MailboxChanged: s.mailboxChangedOf, OnLeft: func(v directory.Voicemail) {
		if h := s.hooks.voicemail; h != nil {
			h(v)
		}
	}}
	b.StandIn = b.vm
	b.Router = &route.Router{Store: s.store, Auth: s.auth, Creds: s.creds, Location: s.loc, Trunks: s.tk,
		Log: s.log, Clock: s.clock, User: b.forwards.RouteUser, Queue: b.queues.Route,
		Menu: (&ivr.Menus{Core: b.Core, Queues: b.queues, Voicemail: b.vm}).Route}
	b.TakeRefer = func(c *call.Call, ev *call.ReqEvent) { transfer.Open(b.Core, b.lot, c).OnRefer(ev) }
	go b.queues.Run(b.Ctx)
	return b, nil
}

// lookupHost resolves a trunk host once at start.
func lookupHost(host string) []netip.Addr {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips
}

// register installs the call handlers on the server.
func (b *b2bua) register() {
	s := b.s
	s.srv.OnInvite(s.handle(b.onInvite))
	s.srv.OnAck(s.handle(b.onAck))
	s.srv.OnBye(s.handle(b.onBye))
	s.regTxs.ServeBye(s.handle(b.onByeInline))
	if !s.cfg.SipgoInvites {
		// INVITEs over UDP, their CANCELs and the ACKs of their non-2xx
		// are served at the edge (wire.InviteTx); onInvite runs on a
		// goroutine of its own there, as under sipgo.
		s.regTxs.ServeInvite(s.handle(b.onInvite))
	}
	s.srv.OnCancel(s.handle(b.onCancel))
	s.srv.OnRefer(s.handle(b.onRefer))
	s.srv.OnNotify(s.handle(b.onNotify))
	// Requests we do not act on inside a call still go through the
	// dialog check: a stranger's get 481, a party's 405.
	for _, m := range []sip.RequestMethod{sip.INFO, sip.UPDATE, sip.PRACK} {
		s.srv.OnRequest(m, s.handle(func(req *sip.Request, tx sip.ServerTransaction) {
			if vs := b.vm.SessionOf(req); vs != nil && req.Method == sip.INFO { // DTMF in a mailbox
				vs.InDialog(req, tx)
				return
			}
			b.toDialog(req, tx, 405, "Method Not Allowed")
		}))
	}
}

// onInvite handles a new INVITE, or a re-INVITE inside a call. sipgo drops
// a transaction whose handler returned unanswered, so it returns only once
// the final response has gone (and, for a 2xx, its ACK has come).
func (b *b2bua) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	src, ok := b.s.admitRequest(req)
	if !ok {
		return
	}
	if reason := wire.CheckRequest(req); reason != "" {
		b.s.rp.Respond(tx, req, 400, reason)
		return
	}
	if wire.Tag(req.To().Params) != "" {
		b.inDialog(req, tx)
		return
	}
	if wire.HopLimit(req) == 0 {
		b.s.rp.Respond(tx, req, 483, "Too Many Hops")
		return
	}
	trunk := b.s.trunkFrom(src.Addr())
	var caller *call.Credential
	if trunk == nil {
		if caller, ok = b.s.auth.Check(req, tx, src.Addr(), auth.Proxy); !ok {
			return
		}
		if !b.s.auth.Current(req, tx, caller, auth.Proxy) {
			return
		}
	}
	// Checked after the challenge: an RFC 2543 INVITE may lack a Contact
	// and is challenged like any other (RFC 4475 inv2543); without one we
	// have nowhere to send our requests in the dialog.
	if req.Contact() == nil {
		b.s.rp.Respond(tx, req, 400, "Missing Contact")
		return
	}
	// Every goroutine the call side starts from here on, and every one
	// those start, carries the call-side label: a test can then count
	// what is left of calls without knowing any type or function name.
	pprof.Do(context.Background(), pprof.Labels(callSideLabel, "call"), func(context.Context) {
		b.newDialog(req, tx, caller, trunk)
	})
}

// callSideLabel is the profiler label key that marks the goroutines of the
// call side (call.SideLabel).
const callSideLabel = call.SideLabel

// newDialog starts what an INVITE outside a dialog asks for: a call, an
// attended transfer's replacement, or a monitoring session.
func (b *b2bua) newDialog(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential, trunk *Trunk) {
	if h := req.GetHeader("Replaces"); h != nil {
		if !b.pickups.Replaces(req, tx, caller, h.Value()) { // pickup.go: a ringing phone's dialog
			b.replacing.Invite(req, tx, caller, h.Value())
		}
		return
	}
	if caller != nil && b.lot.RetrieveOrbit(req, tx, caller) { // park.go
		return
	}
	if caller != nil && b.codes.dial(req, tx, caller) { // features.go
		return
	}
	c := call.NewCall(b.Core, req, tx, caller, trunk)
	if !c.Begin() {
		return
	}
	// Wait for the final response to the caller (and its ACK).
	<-c.AFinal
}

// inDialog passes a re-INVITE or BYE to its call and waits until the call
// answered it.
func (b *b2bua) inDialog(req *sip.Request, tx sip.ServerTransaction) {
	c := b.Lookup(req.CallID().Value())
	if c == nil {
		if ms := b.monitors.Session(req); ms != nil {
			ms.InDialog(req, tx)
			return
		}
		if ps := b.pager.Session(req); ps != nil {
			ps.InDialog(req, tx)
			return
		}
		if vs := b.vm.SessionOf(req); vs != nil {
			vs.InDialog(req, tx)
			return
		}
		b.s.rp.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	done := make(chan struct{})
	ev := &call.ReqEvent{Req: req, Tx: tx, FromA: req.CallID().Value() == c.ID, Done: done}
	if !c.Post(ev) {
		b.s.rp.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	<-done
}

func (b *b2bua) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if b.admitBye(req, tx) {
		b.inDialog(req, tx)
	}
}

// admitBye applies the guard and the request checks to a BYE, answering
// one they refuse, and reports whether it goes on.
func (b *b2bua) admitBye(req *sip.Request, tx sip.ServerTransaction) bool {
	if _, ok := b.s.admitRequest(req); !ok {
		return false
	}
	if reason := wire.CheckRequest(req); reason != "" {
		b.s.rp.Respond(tx, req, 400, reason)
		return false
	}
	return true
}

// onByeInline is onBye for a BYE served outside sipgo (wire.Transactions),
// on the reader of its socket: a call's BYE is posted to the call, which
// answers it on tx when it comes to it; any other (a monitoring, paging or
// voicemail session's, a stranger's) is served as onBye serves it, on a
// goroutine of its own.
func (b *b2bua) onByeInline(req *sip.Request, tx sip.ServerTransaction) {
	if !b.admitBye(req, tx) {
		return
	}
	if c := b.Lookup(req.CallID().Value()); c != nil {
		// Done is closed once the call answered; nobody waits for it.
		ev := &call.ReqEvent{Req: req, Tx: tx, FromA: req.CallID().Value() == c.ID, Done: make(chan struct{})}
		if c.Post(ev) {
			return
		}
	}
	b.s.detach(req, tx, func() { b.inDialog(req, tx) })
}

// takeAck claims for the edge (transport.Parts.TakeAck) the ACK of a
// call's 2xx to its caller, which then goes to onAck without a sipgo
// transaction; any other ACK is left to sipgo.
func (b *b2bua) takeAck(callID, branch string, cseq uint32) func(*sip.Request) {
	if c := b.Lookup(callID); c == nil || !c.TakesAck(callID, branch, cseq) {
		return nil
	}
	return b.ackTaken
}

func (b *b2bua) onAck(req *sip.Request, _ sip.ServerTransaction) {
	if req.CallID() == nil || req.CSeq() == nil {
		return
	}
	if c := b.Lookup(req.CallID().Value()); c != nil {
		c.Post(&call.AckEvent{Req: req, FromA: req.CallID().Value() == c.ID})
	} else if ms := b.monitors.Session(req); ms != nil {
		ms.OnAck()
	} else if ps := b.pager.Session(req); ps != nil {
		ps.OnAck(req)
	} else if vs := b.vm.SessionOf(req); vs != nil {
		vs.OnAck()
	}
}

// onCancel gets only CANCELs matching no INVITE in progress: those that do
// are answered by sipgo and reach the call through tx.OnCancel.
func (b *b2bua) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := b.s.admitRequest(req); !ok {
		return
	}
	b.s.rp.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

// onRefer passes a REFER (blind transfer) to its call. Only a party of an
// answered call may transfer it: a REFER outside a dialog is refused.
func (b *b2bua) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	b.toDialog(req, tx, 403, "Forbidden (REFER Outside A Call)")
}

// onNotify answers a NOTIFY: the PBX subscribes to nothing, so one inside
// a call gets 200 and any other 481.
func (b *b2bua) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	b.toDialog(req, tx, 481, "Subscription Does Not Exist")
}

// toDialog admits a request that belongs inside a call and passes it to
// the call; one without a To tag is answered code and reason.
func (b *b2bua) toDialog(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	if _, ok := b.s.admitRequest(req); !ok {
		return
	}
	if why := wire.CheckRequest(req); why != "" {
		b.s.rp.Respond(tx, req, 400, why)
		return
	}
	if wire.Tag(req.To().Params) == "" {
		b.s.rp.Respond(tx, req, code, reason)
		return
	}
	b.inDialog(req, tx)
}
