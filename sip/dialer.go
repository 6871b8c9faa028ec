package sip

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// The dialer: "ring these targets", the one way the call side reaches a
// party, whether a call starts, is forwarded or is transferred. It sends
// one INVITE (a fork) to every target at once (an extension's phones, a
// ring group) or, on a route that fails over, to one trunk after the
// other, each with the offer addressed for the media address that trunk
// reaches; it answers a trunk's digest challenge once, cancels what still
// rings, and ranks the failures when nobody answers. What an answer or a
// failure means (answer the caller, move a leg, notify a transferor) is
// its user's business: the dialer knows routes, targets and forks, never
// the call's legs. What it needs of the call it rings for comes in a
// dialEnv, as values, so that it depends on no call.

// fork is one INVITE the dialer sent.
type fork struct {
	t         route.Target
	req       *sip.Request
	tx        sip.ClientTransaction
	final     *sip.Response
	provis    bool // a provisional response came: CANCEL may be sent
	sent      time.Time
	responded bool // any response came, a 100 Trying too
	cancelled bool
	authTried bool
	d         *dialer // the dialer that sent it
}

// dialEnv is what a dialer needs of the call it rings for.
type dialEnv struct {
	client    *sipgo.Client
	userAgent string
	log       *slog.Logger
	ctx       context.Context // the forks' transactions end with it
	wg        *sync.WaitGroup // watchers and CANCELs in flight
	post      func(ev any) bool
	// file files a fork's Call-ID under the call, so that its
	// responses and in-dialog requests find the call.
	file        func(callID string)
	contact     func(dest, transport string) sip.ContactHeader
	mediaIP     func(dest string) netip.Addr
	sendAndWait func(ctx context.Context, req *sip.Request) (*sip.Response, error)
	relay       *media.Relay
	hops        uint32 // Max-Forwards of the INVITEs
}

// forkEvent is an event of a fork that a dialer posts to its call: the
// call's actor delivers it to the fork and its dialer.
type forkEvent interface {
	deliver(log *slog.Logger)
}

func (ev *resEvent) deliver(*slog.Logger)        { ev.f.d.onResponse(ev.f, ev.tx, ev.res) }
func (ev *txDoneEvent) deliver(log *slog.Logger) { ev.f.timedOut(ev.tx, ev.err, log) }

// Events a dialer posts to its call.
type (
	// resEvent is a response to a fork's INVITE.
	resEvent struct {
		f   *fork
		tx  sip.ClientTransaction
		res *sip.Response
	}
	// txDoneEvent: a fork's transaction ended.
	txDoneEvent struct {
		f   *fork
		tx  sip.ClientTransaction
		err error
	}
)

// dialer rings the targets of one route for one leg of a call.
type dialer struct {
	env    *dialEnv
	onFork func(*fork) // if set, told of every fork sent
	// What the dialer's user does with a response to a fork, and with a
	// fork whose transaction ended without a final response (given a
	// 408): run on the call's goroutine.
	onResponse func(f *fork, tx sip.ClientTransaction, res *sip.Response)
	onFailed   func(f *fork)
	forks      []*fork
	spare      []route.Target // trunks not tried yet (Route.Failover)
	offer      []byte         // the offer sent to the forks; nil when late
	offerIP    netip.Addr     // the media address in offer

	// How the offer is made (again, for a trunk at another media
	// address): from source, with origin, on relay leg leg.
	late     bool // the INVITEs carry no offer (RFC 3261 §13.2.1)
	source   []byte
	origin   *sdpneg.Origin
	leg      media.Leg
	sendrecv bool // the offer drops the hold of source (a transfer's target)
	// referredBy is the Referred-By of the INVITEs (a transfer's), or "".
	referredBy string
}

// pickTargets drops the targets of rt whose extension is busy (at its
// call limit) and, on a route that fails over, keeps the first to ring now
// and the others spare.
func pickTargets(rt *route.Route, atLimit func(ext string) bool) (ring, spare []route.Target) {
	for _, t := range rt.Targets {
		if t.Ext != "" && atLimit(t.Ext) {
			continue
		}
		ring = append(ring, t)
	}
	if rt.Failover && len(ring) > 1 {
		ring, spare = ring[:1], ring[1:]
	}
	return ring, spare
}

// targetExts lists the extensions of targets ("" for trunks).
func targetExts(targets []route.Target) []string {
	exts := make([]string, 0, len(targets))
	for _, t := range targets {
		exts = append(exts, t.Ext)
	}
	return exts
}

// address makes d's offer point at the media address that dest reaches,
// unless it does already (or the INVITEs carry no offer).
func (d *dialer) address(dest string) error {
	if d.late {
		return nil
	}
	ip := d.env.mediaIP(dest)
	if d.offer != nil && ip == d.offerIP {
		return nil
	}
	sd, _, err := sdpneg.Parse(d.source)
	if err != nil {
		return err
	}
	if d.sendrecv {
		sdpneg.SendRecv(sd)
	}
	sdpneg.WidenOffer(sd)
	offer, err := sdpneg.LegSDP(sd, d.origin, ip, d.env.relay, d.leg)
	if err != nil {
		return err
	}
	d.offer, d.offerIP = offer, ip
	return nil
}

// dialAll sends an INVITE on route rt to each of targets.
func (d *dialer) dialAll(rt *route.Route, targets []route.Target) {
	for _, t := range targets {
		d.dial(rt, t)
	}
}

// dial sends the INVITE of one fork to t.
func (d *dialer) dial(rt *route.Route, t route.Target) {
	req := d.buildInvite(t, rt)
	if d.referredBy != "" {
		req.AppendHeader(sip.NewHeader("Referred-By", d.referredBy))
	}
	f := &fork{t: t, req: req, d: d}
	d.forks = append(d.forks, f)
	if d.onFork != nil {
		d.onFork(f)
	}
	d.env.file(req.CallID().Value())
	f.send()
}

// nextTrunk runs once every fork of d failed: while the last one failed
// in a way another trunk may not (failoverStatus) and a spare trunk is
// left, the call goes to it, the offer addressed for it. It reports
// whether a fork rings again.
func (d *dialer) nextTrunk(rt *route.Route) bool {
	for len(d.spare) > 0 && len(d.forks) > 0 && failoverStatus(d.forks[len(d.forks)-1].final.StatusCode) {
		t := d.spare[0]
		d.spare = d.spare[1:]
		d.env.log.Info("trunk failed; trying the next", "status", d.forks[len(d.forks)-1].final.StatusCode,
			"trunk", t.Trunk.Label())
		if err := d.address(t.Dest); err != nil {
			d.env.log.Info("no offer for the next trunk", "err", err)
			return false
		}
		d.dial(rt, t)
		if !d.allFailed() {
			return true
		}
	}
	return false
}

// timedOut takes the end of f's transaction tx without a final
// response: f gets a 408, and its dialer's user is told (onFailed). The
// end of a transaction f no longer has, or after its final response, is
// stale.
func (f *fork) timedOut(tx sip.ClientTransaction, err error, log *slog.Logger) {
	if tx != f.tx || f.final != nil {
		return
	}
	log.Debug("fork got no final response", "dest", f.t.Dest, "err", err)
	f.final = sip.NewResponseFromRequest(f.req, 408, "Request Timeout", nil)
	f.d.onFailed(f)
}

// terminateForks ends the transactions of the forks of each list.
func terminateForks(lists ...[]*fork) {
	for _, forks := range lists {
		for _, f := range forks {
			if f.tx != nil {
				f.tx.Terminate()
			}
		}
	}
}

// waitingFork reports whether one of forks still waits for its final
// response.
func waitingFork(forks []*fork) bool {
	for _, f := range forks {
		if f.final == nil && f.tx != nil {
			return true
		}
	}
	return false
}

// allFailed reports whether every fork has a failure.
func (d *dialer) allFailed() bool {
	for _, f := range d.forks {
		if f.final == nil || f.final.IsSuccess() {
			return false
		}
	}
	return true
}

// cancelAll cancels every fork but keep.
func (d *dialer) cancelAll(keep *fork) {
	for _, f := range d.forks {
		if f != keep {
			f.cancelInvite()
		}
	}
}

// silentTrunk returns the trunk fork that has sent nothing yet while
// another trunk could take the call, or nil.
func (d *dialer) silentTrunk() *fork {
	if len(d.spare) == 0 || len(d.forks) == 0 {
		return nil
	}
	if f := d.forks[len(d.forks)-1]; f.final == nil && f.tx != nil && !f.responded {
		return f
	}
	return nil
}

// buildInvite builds the INVITE of a fork to t on route rt, with the
// dialer's offer (none when late).
func (d *dialer) buildInvite(t route.Target, rt *route.Route) *sip.Request {
	offer := d.offer
	req := sip.NewRequest(sip.INVITE, t.URI)
	fromUser := rt.FromUser
	if t.FromUser != "" {
		fromUser = t.FromUser
	}
	from := &sip.FromHeader{DisplayName: rt.FromName,
		Address: sip.Uri{Scheme: "sip", User: fromUser, Host: t.Domain},
		Params:  sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}}
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: t.ToUser, Host: t.Domain}})
	for _, r := range t.RouteSet {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	route.ApplyIdentity(req, t)
	cid := sip.CallIDHeader(sip.GenerateTagN(24) + "@switchboard")
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(d.env.hops)
	req.AppendHeader(&mf)
	ct := d.env.contact(t.Dest, t.Transport)
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("User-Agent", d.env.userAgent))
	req.AppendHeader(sip.NewHeader("Allow", callAllowed))
	for _, h := range rt.Headers {
		req.AppendHeader(sip.HeaderClone(h))
	}
	if offer != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(offer)
	}
	req.SetTransport(t.Transport)
	req.SetDestination(t.Dest)
	return req
}

// callAllowed is the Allow header of the call side.
const callAllowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER"

// send starts (or restarts, after a challenge) a fork's transaction and
// its watcher.
func (f *fork) send() {
	env := f.d.env
	tx, err := env.client.TransactionRequest(env.ctx, f.req)
	if err != nil {
		env.log.Info("invite not sent", "dest", f.t.Dest, "err", err)
		f.final = sip.NewResponseFromRequest(f.req, 503, "Service Unavailable", nil)
		return
	}
	f.tx, f.sent, f.responded = tx, time.Now(), false
	env.wg.Go(func() {
		for {
			select {
			case res := <-tx.Responses():
				env.post(&resEvent{f: f, tx: tx, res: res})
			case <-tx.Done():
				env.post(&txDoneEvent{f: f, tx: tx, err: tx.Err()})
				return
			}
		}
	})
}

// retryAuth answers the trunk's digest challenge with a new INVITE, once
// per fork; false when it cannot.
func (f *fork) retryAuth(res *sip.Response) bool {
	if (res.StatusCode != 401 && res.StatusCode != 407) || f.t.Trunk == nil || f.authTried ||
		f.t.Trunk.Username == "" {
		return false
	}
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
		Username: f.t.Trunk.Username, Password: string(f.t.Trunk.Password)})
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
	f.send()
	return f.tx != nil && f.final == nil
}

// forkDialog is the dialog a fork's 2xx res set up.
func forkDialog(f *fork, res *sip.Response) leg.Dialog {
	d := leg.Dialog{CallID: f.req.CallID().Value(), LocalURI: f.req.From().Address, LocalTag: tag(f.req.From().Params),
		RemoteURI: res.To().Address, RemoteTag: tag(res.To().Params), Target: f.req.Recipient,
		Dest: f.t.Dest, Transport: f.t.Transport, Contact: *f.req.Contact(), CSeq: f.req.CSeq().SeqNo}
	if ct := res.Contact(); ct != nil {
		d.Target = ct.Address
	}
	return d
}

// ackAndBye ends a fork that answered too late: another fork won, or its
// user gave up. A 2xx to an INVITE without an offer carries one, and the
// ACK must answer it: with every stream refused (port 0).
func (f *fork) ackAndBye(res *sip.Response) {
	env := f.d.env
	d := forkDialog(f, res)
	ack := d.Request(sip.ACK)
	if len(f.req.Body()) == 0 {
		if sd, _, err := sdpneg.Parse(res.Body()); err == nil {
			if body, err := sdpneg.Rewrite(sd, &sdpneg.Origin{ID: f.d.origin.ID}, env.mediaIP(d.Dest), 0); err == nil {
				ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				ack.SetBody(body)
			}
		}
	}
	_ = env.client.WriteRequest(ack)
	bye := d.Request(sip.BYE)
	env.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		defer cancel()
		if _, err := env.sendAndWait(ctx, bye); err != nil {
			env.log.Debug("bye not answered", "err", err)
		}
	})
}

// cancelInvite cancels a fork that has no final answer. A CANCEL may go
// only after a provisional response (RFC 3261 §9.1); until one comes the
// fork is marked, and cancelled when it does.
func (f *fork) cancelInvite() {
	if f.final != nil || f.cancelled || f.tx == nil {
		return
	}
	f.cancelled = true
	if f.provis {
		f.sendCancel()
	}
}

// sendCancel sends the CANCEL of a fork that had a provisional response.
func (f *fork) sendCancel() {
	env := f.d.env
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
	env.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		defer cancel()
		if _, err := env.sendAndWait(ctx, req); err != nil {
			env.log.Debug("cancel not answered", "err", err)
		}
	})
}

// bestFailure picks the final response of failed forks to pass on (a 6xx
// first, then busy, then the other 4xx, as RFC 3261 §16.7 ranks them), and
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

// failoverStatus reports whether a trunk's final response sends the call
// to the next trunk: no answer (408, also when nothing came) or a server
// failure (5xx, also when the INVITE could not be sent). A 4xx or 6xx is
// about the callee and ends the call.
func failoverStatus(code int) bool {
	return code == 408 || code >= 500 && code < 600
}

// settle takes a response of f's INVITE for a dialer's user that cares
// only for the final one: it reports true when res is it (now f.final);
// a response of an earlier transaction or after the final gives false, as
// does a provisional one, which marks the fork as ringing and sends the
// CANCEL that waited for it.
func (f *fork) settle(tx sip.ClientTransaction, res *sip.Response) bool {
	if tx != f.tx || f.final != nil {
		return false
	}
	f.responded = true
	if res.IsProvisional() {
		if res.StatusCode != 100 {
			f.provis = true
			if f.cancelled {
				f.sendCancel()
			}
		}
		return false
	}
	f.final = res
	return true
}
