package transfer

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Attended transfer (RFC 5589 §7) and INVITE with Replaces (RFC 3891).
//
// The transferor T talks to X in call 1, puts X on hold, calls Y (call 2)
// and sends REFER in call 1 whose Refer-To carries Replaces naming its
// dialog of call 2. Both calls pass through the PBX, so no INVITE with
// Replaces goes to anyone: call 2 hands Y's dialog over to call 1, which
// puts it in place of T's leg. Call 1 re-INVITEs Y with an offer on the
// relay port of that leg (Y learns where its media goes now), and once Y
// answers takes X off hold with Y's SDP, as a blind transfer does. One
// relay carries the call afterwards; call 2's relay closes with call 2.
// T gets NOTIFY 200 and a BYE in call 1, and a BYE in call 2.
//
// The two calls are separate actors: call 1 posts a takeoverReq to call 2
// and call 2 answers with a handover event, so neither waits on the
// other. Call 2 gives Y's dialog away only when it is idle (no
// transaction of its own open on Y) and the dialog named is T's, the
// extension that sent the REFER; otherwise call 1's transfer fails with
// that status in the final NOTIFY and both calls go on.
//
// CDR as for blind transfer: call 1's row ends (hangup_by "transfer",
// "transferred to Y by T"), call 2's row ends the same way ("transferred
// to X by T") and X and Y get a row of their own, started at the REFER
// and answered at the join.
//
// An INVITE with Replaces from a phone (its own attended transfer, or
// call pickup of an answered call) naming a leg of an answered call takes
// that leg: the phone is answered with the SDP the replaced party had,
// the replaced party gets a BYE and the other party is taken off hold.
// One naming no dialog the PBX has gets 481.

// takeoverRetry is how often, and takeoverTries how many times, a call
// busy with a transaction of its own looks again at a takeoverReq: the
// REFER may come just after the consultation call was answered, before
// its ACK.
const (
	takeoverRetry = 50 * time.Millisecond
	takeoverTries = 40
)

// Events between the two calls of an attended transfer, and of an INVITE
// with Replaces.
type (
	// takeoverReq asks the call that has the dialog named by rep for the
	// other leg of it.
	takeoverReq struct {
		by         *call.Call
		x          *Transfer
		rep        call.Replaces
		transferor string // extension that sent the REFER
		peer       string // who the transferee is, for the CDR reason
		tries      int    // times the call was busy (takeoverRetry)
	}
	// handover answers a takeoverReq: code 0 and the leg, or the status
	// of the refusal.
	handover struct {
		x      *Transfer
		code   int
		reason string
		dlg    leg.Dialog
		org    sdpneg.Origin
		who    call.Party
		tgt    route.Target // for monitoring when the leg lands on B
	}
	// joinResult is the answer to our re-INVITE toward the party that
	// joined the call.
	joinResult struct {
		t   *transfers
		toA bool
		res *sip.Response
		err error
	}
	// replaceEvent is an INVITE with Replaces naming a leg of the call.
	replaceEvent struct {
		req  *sip.Request
		tx   sip.ServerTransaction
		cred *call.Credential
		rep  call.Replaces
		// takeOver is nil when cred's user may take over any leg of the
		// call (authz, calls.control), else why not: then only the
		// replaced leg's own user may replace it.
		takeOver error
		done     chan struct{}
	}
)

// startAttended asks the call that has the dialog named in the Refer-To
// for its other party. x is the transfer onRefer started.
func (t *transfers) startAttended(x *Transfer, rep call.Replaces, transferor call.Party) {
	c := t.c
	x.attended = true
	other := c.Core.Lookup(rep.CallID)
	if other == nil || other == c {
		x.Failed(481, "Call/Transaction Does Not Exist", directory.Failed, "replaces: no such dialog")
		return
	}
	peer := c.Parties[leg.Index(!x.FromA)].Num
	if !other.Post(&takeoverReq{by: c, x: x, rep: rep, transferor: transferor.Ext, peer: peer}) {
		x.Failed(481, "Call/Transaction Does Not Exist", directory.Failed, "replaces: no such dialog")
	}
}

// HandleOn runs in call 2: it gives the leg that is not the transferor's
// to call 1 and ends, or tells call 1 why not.
func (r *takeoverReq) HandleOn(c *call.Call) {
	refuse := func(code int, reason string) {
		r.by.Post(&handover{x: r.x, code: code, reason: reason})
	}
	isA, ok := c.ReplacedLeg(r.rep)
	if !ok {
		refuse(481, "Call/Transaction Does Not Exist")
		return
	}
	tLeg, yLeg := leg.Index(isA), leg.Index(!isA)
	if c.Parties[tLeg].Ext == "" || c.Parties[tLeg].Ext != r.transferor {
		refuse(403, "Forbidden (Not Your Dialog)")
		return
	}
	if !c.IdleBut(isA) {
		if r.tries++; r.tries >= takeoverTries {
			refuse(491, "Request Pending")
			return
		}
		c.WG.Go(func() {
			t := time.NewTimer(takeoverRetry)
			defer t.Stop()
			select {
			case <-t.C:
				if c.Post(r) {
					return
				}
			case <-c.ReqCtx.Done():
			}
			refuse(481, "Call/Transaction Does Not Exist")
		})
		return
	}
	h := &handover{x: r.x, dlg: *c.LegDialog(!isA), who: c.Parties[yLeg]}
	if isA { // Y is on leg B
		h.org = c.Legs[1].Origin
		if t := c.BTarget; t != nil {
			h.tgt = *t
		}
	} else {
		h.org = c.Legs[0].Origin
		h.tgt = route.Target{UserID: h.who.UserID, Ext: h.who.Ext, Dest: h.dlg.Dest, Transport: h.dlg.Transport}
	}
	if !r.by.Post(h) {
		return // call 1 is over: this call goes on
	}
	// From here Y's requests go to call 1.
	c.Core.AliasIfFiled(h.dlg.CallID, r.by)
	c.Leave(h.dlg)
	c.Log.Info("leg handed over for an attended transfer", "to", r.by.ID, "party", h.who.Num)
	c.State = call.StEnded
	c.DropPending(isA)
	c.CDR.HangupBy = "transfer"
	c.CDR.Reason = "transferred to " + r.peer + " by " + c.Parties[tLeg].Num
	c.Linger = time.Now().Add(leg.ByeTimeout)
	if isA {
		c.ByeA()
	} else {
		c.ByeB()
	}
}

// onHandover runs in call 1 with call 2's answer.
func (t *transfers) onHandover(h *handover) {
	c, x := t.c, t.cur
	if h.code != 0 {
		if x == h.x {
			x.Failed(h.code, h.reason, directory.Failed, "replaces: "+strconv.Itoa(h.code)+" "+h.reason)
		}
		return
	}
	if x != h.x || c.State != call.StAnswered {
		// The transfer was given up meanwhile: the leg is ours to end.
		c.Log.Info("attended transfer given up; hanging up the party handed over", "party", h.who.Num)
		bye := h.dlg.Request(sip.BYE)
		c.WG.Go(func() { c.SendBye(bye) })
		return
	}
	x.HandedOver()
	toA := x.FromA
	moved := leg.Index(toA)
	sent := c.Legs[moved].SDP // what the transferor got: the transferee's media
	old := *c.LegDialog(toA)
	*c.LegDialog(toA) = h.dlg
	c.Relay.SetPeer(leg.RelayLeg(toA), leg.PeerIP(h.dlg.Dest))
	c.DropPending(toA)
	if !x.gone {
		c.Leave(old)
	}
	transferor := c.Parties[moved]
	c.SetParty(moved, h.who)
	c.Core.Swap(c, transferor.Ext, h.who.Ext)
	if toA {
		var cred *call.Credential
		if h.who.Ext != "" {
			cred, _ = t.b.Auth.Credential(h.who.Ext)
		}
		c.Caller = cred
		c.Legs[0].Origin = h.org
	} else {
		c.Legs[1].Origin = h.org
		t := h.tgt
		c.BTarget = &t
	}
	c.Log.Info("call transferred (attended)", "by", transferor.Num, "to", h.who.Num)
	c.JoinCDR(x.started, h.who, x.Target, "transferred to "+h.who.Num+" by "+transferor.Num,
		"transferred by "+transferor.Num, toA)
	if !x.gone {
		c.SendInOrder(x.Notify(&old, "SIP/2.0 200 OK", true), old.Request(sip.BYE))
	}
	// Until Y answers our re-INVITE its media goes to call 2's relay,
	// which is closing: nothing to relay meanwhile.
	c.Relay.SetRemote(leg.RelayLeg(toA), netip.AddrPort{}, netip.AddrPort{})
	t.reinviteJoined(toA, sent)
}

// reinviteJoined re-INVITEs the party that joined leg toA with an offer on
// that leg's relay port, made from sent (the SDP the leg's previous party
// had: the other party's media). Its answer points the leg at it.
func (t *transfers) reinviteJoined(toA bool, sent []byte) {
	c := t.c
	sd, _, err := sdpneg.Parse(sent)
	var body []byte
	d, o := c.LegDialog(toA), &c.Legs[leg.Index(toA)].Origin
	if err == nil {
		sdpneg.SendRecv(sd)
		sdpneg.WidenOffer(sd)
		body, err = sdpneg.LegSDP(sd, o, c.Core.MediaIP(d.Dest), c.Relay, leg.RelayLeg(toA))
	}
	if err != nil {
		c.Log.Info("attended transfer: no sdp for the party that joined", "err", err)
		c.Hangup("system", "transfer: no sdp")
		return
	}
	req := d.Request(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	c.Legs[leg.Index(toA)].SDP = body
	c.Unhold = true // our re-INVITE is out: theirs get 491
	c.WG.Go(func() {
		res, err := c.Core.SendAndWait(c.ReqCtx, req)
		c.Post(joinResult{t: t, toA: toA, res: res, err: err})
	})
}

func (t *transfers) onJoinResult(r joinResult) {
	c := t.c
	c.Unhold = false
	if c.State != call.StAnswered || c.LegDialog(r.toA).CallID != r.dialogID() {
		return
	}
	if r.err != nil || r.res == nil || !r.res.IsSuccess() {
		status := "no answer"
		if r.res != nil {
			status = strconv.Itoa(r.res.StatusCode) + " " + r.res.Reason
		}
		c.Log.Info("transferred party refused the new media; hanging up", "status", status)
		c.Hangup("system", "transfer: re-invite "+status)
		return
	}
	d := c.LegDialog(r.toA)
	if err := c.Core.Client.WriteRequest(d.Request(sip.ACK)); err != nil {
		c.Log.Debug("ack not sent", "err", err)
	}
	_, m, err := sdpneg.Parse(r.res.Body())
	if err != nil {
		c.Hangup("system", "transfer: bad sdp answer")
		return
	}
	ml := leg.RelayLeg(r.toA)
	c.SetLegCodec(ml, sdpneg.FirstVoice(r.res.Body()))
	sdpneg.SetMedia(c.Relay, ml, m)
	c.Relay.SetHold(ml, m.Hold)
	// The transferor sends RTP until it has our BYE.
	c.AfterChain(call.RelatchEvent{ToA: r.toA, CallID: d.CallID, RTP: m.RTP, RTCP: m.RTCP})
	c.UnholdTransferee(!r.toA, r.res.Body())
}

// dialogID is the Call-ID of the re-INVITE r answers.
func (r joinResult) dialogID() string {
	if r.res != nil && r.res.CallID() != nil {
		return r.res.CallID().Value()
	}
	return ""
}

// HandleOn answers an INVITE with Replaces naming a leg of the call.
func (ev *replaceEvent) HandleOn(c *call.Call) {
	reject := func(code int, reason string) {
		c.Core.Responder.Respond(ev.tx, ev.req, code, reason)
		close(ev.done)
	}
	isA, ok := c.ReplacedLeg(ev.rep)
	if !ok {
		reject(481, "Call/Transaction Does Not Exist")
		return
	}
	// RFC 3891 §6: only someone with the replaced dialog's authority
	// replaces it: its own user (another of their phones), or a user whom
	// authz lets act on this call.
	if replaced := c.Parties[leg.Index(isA)]; replaced.UserID != ev.cred.UserID && ev.takeOver != nil {
		reason := authz.DeniedReason(ev.takeOver)
		c.Log.Info("replaces refused", "by", ev.cred.Ext, "reason", reason)
		reject(403, "Forbidden ("+reason+")")
		return
	}
	if !c.Idle() {
		reject(491, "Request Pending")
		return
	}
	sd, m, err := sdpneg.Parse(ev.req.Body())
	if err != nil {
		reject(488, "Not Acceptable Here")
		return
	}
	sent := c.Legs[1].SDP
	if isA {
		sent = c.Legs[0].SDP
	}
	ans, _, err := sdpneg.Parse(sent)
	if err != nil || !sdpneg.KeepCommonFormats(ans, sd) {
		reject(488, "Not Acceptable Here")
		return
	}
	sdpneg.SendRecv(ans)
	joined := sdpneg.FirstVoiceSD(ans) // what the new phone and the relay agree on
	org := sdpneg.Origin{ID: uint64(time.Now().UnixNano()&0x7fffffffffff) + 3}
	src := ev.req.Source()
	body, err := sdpneg.LegSDP(ans, &org, c.Core.MediaIP(src), c.Relay, leg.RelayLeg(isA))
	if err != nil {
		reject(488, "Not Acceptable Here")
		return
	}
	req := ev.req.Clone()
	req.To().Params.Add("tag", sip.GenerateTagN(16))
	d := c.Core.UASDialog(req)
	at := leg.Index(isA)
	old := *c.LegDialog(isA)
	c.DropPending(isA)
	// The new dialog's ACK and requests come to this call.
	c.Core.Alias(d.CallID, c)
	*c.LegDialog(isA) = d
	c.Leave(old)
	c.Relay.SetPeer(leg.RelayLeg(isA), leg.PeerIP(d.Dest))
	ok200 := c.OKResponse(req, body, d.Contact)
	if err := ev.tx.Respond(ok200); err != nil {
		c.Log.Info("200 to the replacing party not sent", "err", err)
		close(ev.done)
	} else {
		c.AwaitAck(req, call.Pending2xx{FromA: isA, Tx: ev.tx, Res: ok200, Done: ev.done})
	}
	if isA {
		c.Legs[0].SDP, c.Legs[0].Origin = body, org
	} else {
		c.Legs[1].SDP, c.Legs[1].Origin = body, org
	}
	c.SetLegCodec(leg.RelayLeg(isA), joined)
	sdpneg.SetMedia(c.Relay, leg.RelayLeg(isA), m)
	c.Relay.SetHold(leg.RelayLeg(isA), m.Hold)

	replaced := c.Parties[at]
	who := call.Party{UserID: ev.cred.UserID, Num: ev.cred.Ext, Ext: ev.cred.Ext}
	c.SetParty(at, who)
	c.Core.Swap(c, replaced.Ext, who.Ext)
	if isA {
		c.Caller = ev.cred
	} else {
		c.BTarget = &route.Target{UserID: who.UserID, Ext: who.Ext, Dest: src, Transport: d.Transport}
	}
	c.Log.Info("at replaced", "replaced", replaced.Num, "by", who.Num)
	c.JoinCDR(time.Now().UTC(), who, who.Num, "replaced by "+who.Num, "replaced "+replaced.Num, isA)
	c.SendInOrder(old.Request(sip.BYE))
	c.AfterChain(call.RelatchEvent{ToA: isA, CallID: d.CallID, RTP: m.RTP, RTCP: m.RTCP})
	c.UnholdTransferee(!isA, ev.req.Body())
}

// Replacing is the b2bua's service for an INVITE with Replaces: it
// passes one to the call whose leg it names, asking authz first who may
// take over whose leg.
type Replacing struct {
	Core *call.Core
}

// Invite passes an INVITE with Replaces to the call it names, and waits
// until that call answered it (and, for a 2xx, its ACK came).
func (rp *Replacing) Invite(req *sip.Request, tx sip.ServerTransaction, cred *call.Credential, value string) {
	b := rp.Core
	rep, ok := call.ParseReplaces(value)
	if !ok {
		b.Responder.Respond(tx, req, 400, "Bad Request (Bad Replaces)")
		return
	}
	if cred == nil {
		b.Responder.Respond(tx, req, 403, "Forbidden (Replaces From A Trunk)")
		return
	}
	c := b.Lookup(rep.CallID)
	if c == nil {
		b.Responder.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	takeOver, err := rp.mayTakeOver(cred, c)
	if err != nil {
		b.Log.Warn("replaces refused: directory unavailable", "call_id", req.CallID().Value(), "err", err)
		res := b.Responder.Response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", call.StoreRetryAfter))
		b.Responder.Send(tx, res)
		return
	}
	done := make(chan struct{})
	if !c.Post(&replaceEvent{req: req, tx: tx, cred: cred, rep: rep, takeOver: takeOver, done: done}) {
		b.Responder.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	<-done
}

// mayTakeOver asks authz whether the user of cred may act on c's call
// (calls.control over its parties). It returns nil when it may, the
// refusal when not, and err when the directory cannot answer.
func (rp *Replacing) mayTakeOver(cred *call.Credential, c *call.Call) (refusal, err error) {
	b := rp.Core
	var parties []int64
	if legs := c.SharedParties.Load(); legs != nil {
		for _, p := range legs {
			if p.UserID != 0 {
				parties = append(parties, p.UserID)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	defer cancel()
	acc, err := b.Store.Access(ctx, cred.UserID)
	if err != nil {
		return nil, fmt.Errorf("access of %s: %w", cred.Ext, err)
	}
	return authz.Can(authz.NewSubject(acc), authz.CallsControl,
		authz.Resource{Kind: authz.KindCall, UserIDs: parties}), nil
}

// Call 2's handover and the answer to our re-INVITE of the party that
// joined run in call 1's transfer room (a takeoverReq and a replaceEvent
// run on the call they name, above).

func (ev *handover) HandleOn(*call.Call)  { ev.x.t.onHandover(ev) }
func (ev joinResult) HandleOn(*call.Call) { ev.t.onJoinResult(ev) }

// CallOver answers an INVITE with Replaces that found the call over.
func (ev *replaceEvent) CallOver(c *call.Call) {
	c.Core.Responder.Respond(ev.tx, ev.req, 481, "Call/Transaction Does Not Exist")
	close(ev.done)
}

// CallOver tells the asking call that this one is over.
func (ev *takeoverReq) CallOver(*call.Call) {
	ev.by.Post(&handover{x: ev.x, code: 481, reason: "Call/Transaction Does Not Exist"})
}

// CallOver ends a dialog handed over too late: it is the call's to end.
func (ev *handover) CallOver(c *call.Call) {
	if ev.code == 0 {
		bye := ev.dlg.Request(sip.BYE)
		c.WG.Go(func() { c.SendBye(bye) })
	}
}
