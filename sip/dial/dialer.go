package dial

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
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
// dial.Env, as values, so that it depends on no call.

// Fork is one INVITE the dialer sent. Once its transaction ended after
// its final response (for a 2xx, Timer M: 64·T1 after it), a fork keeps
// no message (release): Req and Tx are nil, and Final has only its status
// line.
type Fork struct {
	Target    route.Target
	Req       *sip.Request
	Tx        sip.ClientTransaction
	Final     *sip.Response
	Provis    bool // a provisional response came: CANCEL may be sent
	Sent      time.Time
	Responded bool // any response came, a 100 Trying too
	Cancelled bool
	authTried bool
	Dialer    *Dialer // the dialer that sent it
}

// Env is what a dialer needs of the call it rings for.
type Env struct {
	Client    *sipgo.Client
	UserAgent string
	Log       *slog.Logger
	Ctx       context.Context // the forks' transactions end with it
	WG        *sync.WaitGroup // watchers and CANCELs in flight
	Post      func(ev any) bool
	// File files a fork's Call-ID under the call, so that its
	// responses and in-dialog requests find the call.
	File        func(callID string)
	Contact     func(dest, transport string) sip.ContactHeader
	MediaIP     func(dest string) netip.Addr
	SendAndWait func(ctx context.Context, req *sip.Request) (*sip.Response, error)
	Relay       *media.Relay
	Hops        uint32 // Max-Forwards of the INVITEs
	// Watch, when not nil, offers a fork's new transaction to the actor
	// the events go to, which may read it itself (the call's run selects
	// on it) and then reports true; otherwise a watcher goroutine reads it
	// and posts. Each watcher was a goroutine started, and a wake-up of
	// it on every response, for each fork of each call.
	Watch func(f *Fork, tx sip.ClientTransaction) bool
}

// Event is an event of a fork that a dialer posts to its call: the
// call's actor delivers it to the fork and its dialer.
type Event interface {
	Deliver(log *slog.Logger)
}

// Deliver hands the response to its fork's dialer's user (OnResponse).
func (ev *ResponseEvent) Deliver(*slog.Logger) { ev.Fork.Dialer.OnResponse(ev.Fork, ev.Tx, ev.Res) }

// Deliver gives the fork a 408 when it had no final response, and
// releases it after its final one.
func (ev *TxDoneEvent) Deliver(log *slog.Logger) { ev.Fork.timedOut(ev.Tx, ev.Err, log) }

// Events a dialer posts to its call.
type (
	// ResponseEvent is a response to a fork's INVITE.
	ResponseEvent struct {
		Fork *Fork
		Tx   sip.ClientTransaction
		Res  *sip.Response
	}
	// TxDoneEvent: a fork's transaction ended.
	TxDoneEvent struct {
		Fork *Fork
		Tx   sip.ClientTransaction
		Err  error
	}
)

// Dialer rings the targets of one route for one leg of a call.
type Dialer struct {
	Env    *Env
	OnFork func(*Fork) // if set, told of every fork sent
	// What the dialer's user does with a response to a fork, and with a
	// fork whose transaction ended without a final response (given a
	// 408): run on the call's goroutine.
	OnResponse func(f *Fork, tx sip.ClientTransaction, res *sip.Response)
	OnFailed   func(f *Fork)
	Forks      []*Fork
	Spare      []route.Target // trunks not tried yet (Route.Failover)
	Offer      []byte         // the offer sent to the forks; nil when late
	OfferIP    netip.Addr     // the media address in offer

	// How the offer is made (again, for a trunk at another media
	// address): from source, with origin, on relay leg leg.
	Late   bool // the INVITEs carry no offer (RFC 3261 §13.2.1)
	Source []byte
	// Parsed is Source already parsed, or nil: the first Address takes it
	// (and changes it) instead of parsing Source again.
	Parsed   *sdp.SessionDescription
	Origin   *sdpneg.Origin
	Leg      media.Leg
	SendRecv bool // the offer drops the hold of source (a transfer's target)
	// ReferredBy is the Referred-By of the INVITEs (a transfer's), or "".
	ReferredBy string
}

// Pick drops the targets of rt whose extension is busy (at its
// call limit) and, on a route that fails over, keeps the first to ring now
// and the others spare.
func Pick(rt *route.Route, atLimit func(ext string) bool) (ring, spare []route.Target) {
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

// Exts lists the extensions of targets ("" for trunks).
func Exts(targets []route.Target) []string {
	exts := make([]string, 0, len(targets))
	for _, t := range targets {
		exts = append(exts, t.Ext)
	}
	return exts
}

// Address makes d's offer point at the media address that dest reaches,
// unless it does already (or the INVITEs carry no offer).
func (d *Dialer) Address(dest string) error {
	if d.Late {
		return nil
	}
	ip := d.Env.MediaIP(dest)
	if d.Offer != nil && ip == d.OfferIP {
		return nil
	}
	sd := d.Parsed
	d.Parsed = nil
	if sd == nil {
		var err error
		if sd, _, err = sdpneg.Parse(d.Source); err != nil {
			return err
		}
	}
	if d.SendRecv {
		sdpneg.SendRecv(sd)
	}
	sdpneg.WidenOffer(sd)
	offer, err := sdpneg.LegSDP(sd, d.Origin, ip, d.Env.Relay, d.Leg)
	if err != nil {
		return err
	}
	d.Offer, d.OfferIP = offer, ip
	return nil
}

// DialAll sends an INVITE on route rt to each of targets.
func (d *Dialer) DialAll(rt *route.Route, targets []route.Target) {
	for _, t := range targets {
		d.dial(rt, t)
	}
}

// dial sends the INVITE of one fork to t.
func (d *Dialer) dial(rt *route.Route, t route.Target) {
	req := d.buildInvite(t, rt)
	if d.ReferredBy != "" {
		req.AppendHeader(sip.NewHeader("Referred-By", d.ReferredBy))
	}
	f := &Fork{Target: t, Req: req, Dialer: d}
	d.Forks = append(d.Forks, f)
	if d.OnFork != nil {
		d.OnFork(f)
	}
	d.Env.File(req.CallID().Value())
	f.send()
}

// NextTrunk runs once every fork of d failed: while the last one failed
// in a way another trunk may not (failoverStatus) and a spare trunk is
// left, the call goes to it, the offer addressed for it. It reports
// whether a fork rings again.
func (d *Dialer) NextTrunk(rt *route.Route) bool {
	for len(d.Spare) > 0 && len(d.Forks) > 0 && failoverStatus(d.Forks[len(d.Forks)-1].Final.StatusCode) {
		t := d.Spare[0]
		d.Spare = d.Spare[1:]
		d.Env.Log.Info("trunk failed; trying the next", "status", d.Forks[len(d.Forks)-1].Final.StatusCode,
			"trunk", t.Trunk.Label())
		if err := d.Address(t.Dest); err != nil {
			d.Env.Log.Info("no offer for the next trunk", "err", err)
			return false
		}
		d.dial(rt, t)
		if !d.AllFailed() {
			return true
		}
	}
	return false
}

// timedOut takes the end of f's transaction tx without a final
// response: f gets a 408, and its dialer's user is told (OnFailed). Either
// way f then lets go of what it no longer needs (release); the end of a
// transaction f no longer has is stale.
func (f *Fork) timedOut(tx sip.ClientTransaction, err error, log *slog.Logger) {
	if tx != f.Tx {
		return
	}
	if f.Final != nil {
		f.release()
		return
	}
	log.Debug("fork got no final response", "dest", f.Target.Dest, "err", err)
	f.Final = sip.NewResponseFromRequest(f.Req, 408, "Request Timeout", nil)
	f.Dialer.OnFailed(f)
	f.release()
}

// release drops what f holds once its transaction ended after its final
// response: the transaction, with the INVITE and the final response it
// kept, and but for its status line the final response. Nothing reads
// them any more: a fork with its final response is not cancelled, not
// tried again and no longer rings, and the call has made leg B's dialog
// (ForkDialog) of a 2xx when it came. sipgo keeps an answered INVITE's
// transaction for Timer M (64·T1) to catch the 2xx's retransmissions;
// past that, on a long call, only the fork still held it.
func (f *Fork) release() {
	f.Tx, f.Req = nil, nil
	f.Final = &sip.Response{StatusCode: f.Final.StatusCode, Reason: f.Final.Reason}
}

// Terminate ends the transactions of the forks of each list.
func Terminate(lists ...[]*Fork) {
	for _, forks := range lists {
		for _, f := range forks {
			if f.Tx != nil {
				f.Tx.Terminate()
			}
		}
	}
}

// Waiting reports whether one of forks still waits for its final
// response.
func Waiting(forks []*Fork) bool {
	for _, f := range forks {
		if f.Final == nil && f.Tx != nil {
			return true
		}
	}
	return false
}

// AllFailed reports whether every fork has a failure.
func (d *Dialer) AllFailed() bool {
	for _, f := range d.Forks {
		if f.Final == nil || f.Final.IsSuccess() {
			return false
		}
	}
	return true
}

// CancelAll cancels every fork but keep.
func (d *Dialer) CancelAll(keep *Fork) {
	for _, f := range d.Forks {
		if f != keep {
			f.CancelInvite()
		}
	}
}

// StopRinging stops the forks from first on: it cancels those that ring,
// ends those that never answered anything as timed out, and returns the
// extensions they rang, but for skipExt (the caller's own phones).
func (d *Dialer) StopRinging(first int, skipExt string) []string {
	var exts []string
	for _, f := range d.Forks[first:] {
		f.CancelInvite()
		if f.Final == nil && !f.Responded && f.Tx != nil {
			f.Tx.Terminate()
			f.Final = sip.NewResponseFromRequest(f.Req, 408, "Request Timeout", nil)
		}
		if f.Target.Ext != "" && f.Target.Ext != skipExt {
			exts = append(exts, f.Target.Ext)
		}
	}
	return exts
}

// SilentTrunk returns the trunk fork that has sent nothing yet while
// another trunk could take the call, or nil.
func (d *Dialer) SilentTrunk() *Fork {
	if len(d.Spare) == 0 || len(d.Forks) == 0 {
		return nil
	}
	if f := d.Forks[len(d.Forks)-1]; f.Final == nil && f.Tx != nil && !f.Responded {
		return f
	}
	return nil
}

// buildInvite builds the INVITE of a fork to t on route rt, with the
// dialer's offer (none when late).
func (d *Dialer) buildInvite(t route.Target, rt *route.Route) *sip.Request {
	offer := d.Offer
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
	mf := sip.MaxForwardsHeader(d.Env.Hops)
	req.AppendHeader(&mf)
	ct := d.Env.Contact(t.Dest, t.Transport)
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("User-Agent", d.Env.UserAgent))
	req.AppendHeader(sip.NewHeader("Allow", Allowed))
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

// Allowed is the Allow header of the call side.
const Allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER"

// send starts (or restarts, after a challenge) a fork's transaction and
// has it watched: by the actor its events go to, when it takes it
// (Env.Watch), else by a watcher goroutine (Watch).
func (f *Fork) send() {
	env := f.Dialer.Env
	tx, err := env.Client.TransactionRequest(env.Ctx, f.Req)
	if err != nil {
		env.Log.Info("invite not sent", "dest", f.Target.Dest, "err", err)
		f.Final = sip.NewResponseFromRequest(f.Req, 503, "Service Unavailable", nil)
		return
	}
	f.Tx, f.Sent, f.Responded = tx, time.Now(), false
	if env.Watch != nil && env.Watch(f, tx) {
		return
	}
	f.Watch(tx)
}

// Watch starts the goroutine that watches tx, f's transaction: it posts
// the responses up to the final one, or the transaction's end when no
// final response came.
func (f *Fork) Watch(tx sip.ClientTransaction) {
	env := f.Dialer.Env
	env.WG.Go(func() {
		for {
			select {
			case res := <-tx.Responses():
				env.Post(&ResponseEvent{Fork: f, Tx: tx, Res: res})
				if !res.IsProvisional() {
					// sipgo passes up one final response: the 2xx's
					// retransmissions go to the hook of
					// OnRetransmission (RFC 6026 §7.2), a failure's
					// are ACKed by the transaction itself. The watcher
					// ends now rather than with the transaction
					// (Timer M, 64·T1 after a 2xx: most of a short
					// call).
					f.tellEnd(tx)
					return
				}
			case <-tx.Done():
				env.Post(&TxDoneEvent{Fork: f, Tx: tx, Err: tx.Err()})
				return
			}
		}
	})
}

// TellEnd is what a watcher does once it posted the final response of
// tx, f's transaction, for an actor that reads tx itself (Env.Watch): call
// it once that response is delivered.
func (f *Fork) TellEnd(tx sip.ClientTransaction) { f.tellEnd(tx) }

// tellEnd posts the end of tx, f's transaction after its final response,
// when sipgo ends it, without a goroutine (OnTerminate). sipgo keeps an
// ended INVITE transaction and its hooks until Timer M fires, terminated
// or not: once run, the hook holds neither the fork nor its call, which
// can go at once when the call ends first.
func (f *Fork) tellEnd(tx sip.ClientTransaction) {
	post, fork := f.Dialer.Env.Post, f
	ended := func(string, error) {
		post(&TxDoneEvent{Fork: fork, Tx: tx})
		post, fork = nil, nil
	}
	if !tx.OnTerminate(ended) {
		ended("", nil)
	}
}

// RetryAuth answers the trunk's digest challenge with a new INVITE, once
// per fork; false when it cannot.
func (f *Fork) RetryAuth(res *sip.Response) bool {
	if (res.StatusCode != 401 && res.StatusCode != 407) || f.Target.Trunk == nil || f.authTried ||
		f.Target.Trunk.Username == "" {
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
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: f.Req.Recipient.String(),
		Username: f.Target.Trunk.Username, Password: string(f.Target.Trunk.Password)})
	if err != nil {
		return false
	}
	// sipgo has ACKed the challenge; its transaction would linger for
	// Timer D, and its watcher with it.
	f.Tx.Terminate()
	req := f.Req.Clone()
	req.RemoveHeader("Via")
	req.RemoveHeader(authHdr)
	req.CSeq().SeqNo++
	req.AppendHeader(sip.NewHeader(authHdr, cred.String()))
	f.Req, f.Final, f.authTried, f.Provis = req, nil, true, false
	f.send()
	return f.Tx != nil && f.Final == nil
}

// BestFailure picks the final response of failed forks to pass on (a 6xx
// first, then busy, then the other 4xx, as RFC 3261 §16.7 ranks them), and
// the CDR disposition it means.
func BestFailure(forks []*Fork) (int, string, directory.Disposition) {
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
		if f.Final != nil && (best == nil || rank(f.Final) < rank(best)) {
			best = f.Final
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

// Settle takes a response of f's INVITE for a dialer's user that cares
// only for the final one: it reports true when res is it (now f.Final);
// a response of an earlier transaction or after the final gives false, as
// does a provisional one, which marks the fork as ringing and sends the
// CANCEL that waited for it.
func (f *Fork) Settle(tx sip.ClientTransaction, res *sip.Response) bool {
	if tx != f.Tx || f.Final != nil {
		return false
	}
	f.Responded = true
	if res.IsProvisional() {
		if res.StatusCode != 100 {
			f.Provis = true
			if f.Cancelled {
				f.SendCancel()
			}
		}
		return false
	}
	f.Final = res
	return true
}
