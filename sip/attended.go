package sip

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
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
		by         *call
		x          *xfer
		rep        replaces
		transferor string // extension that sent the REFER
		peer       string // who the transferee is, for the CDR reason
		tries      int    // times the call was busy (takeoverRetry)
	}
	// handover answers a takeoverReq: code 0 and the leg, or the status
	// of the refusal.
	handover struct {
		x      *xfer
		code   int
		reason string
		dlg    leg.Dialog
		org    sdpneg.Origin
		who    party
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
		cred *credential
		rep  replaces
		// takeOver is nil when cred's user may take over any leg of the
		// call (authz, calls.control), else why not: then only the
		// replaced leg's own user may replace it.
		takeOver error
		done     chan struct{}
	}
)

// startAttended asks the call that has the dialog named in the Refer-To
// for its other party. x is the transfer onRefer started.
func (t *transfers) startAttended(x *xfer, rep replaces, transferor party) {
	c := t.c
	x.attended = true
	other := c.b.lookup(rep.callID)
	if other == nil || other == c {
		x.failed(481, "Call/Transaction Does Not Exist", directory.Failed, "replaces: no such dialog")
		return
	}
	peer := c.parties[leg.Index(!x.fromA)].num
	if !other.post(&takeoverReq{by: c, x: x, rep: rep, transferor: transferor.ext, peer: peer}) {
		x.failed(481, "Call/Transaction Does Not Exist", directory.Failed, "replaces: no such dialog")
	}
}

// handleOn runs in call 2: it gives the leg that is not the transferor's
// to call 1 and ends, or tells call 1 why not.
func (r *takeoverReq) handleOn(c *call) {
	refuse := func(code int, reason string) {
		r.by.post(&handover{x: r.x, code: code, reason: reason})
	}
	isA, ok := c.replacedLeg(r.rep)
	if !ok {
		refuse(481, "Call/Transaction Does Not Exist")
		return
	}
	tLeg, yLeg := leg.Index(isA), leg.Index(!isA)
	if c.parties[tLeg].ext == "" || c.parties[tLeg].ext != r.transferor {
		refuse(403, "Forbidden (Not Your Dialog)")
		return
	}
	if !c.idleBut(isA) {
		if r.tries++; r.tries >= takeoverTries {
			refuse(491, "Request Pending")
			return
		}
		c.wg.Go(func() {
			t := time.NewTimer(takeoverRetry)
			defer t.Stop()
			select {
			case <-t.C:
				if c.post(r) {
					return
				}
			case <-c.reqCtx.Done():
			}
			refuse(481, "Call/Transaction Does Not Exist")
		})
		return
	}
	h := &handover{x: r.x, dlg: *c.LegDialog(!isA), who: c.parties[yLeg]}
	if isA { // Y is on leg B
		h.org = c.Legs[1].Origin
		if t := c.bTarget; t != nil {
			h.tgt = *t
		}
	} else {
		h.org = c.Legs[0].Origin
		h.tgt = route.Target{UserID: h.who.userID, Ext: h.who.ext, Dest: h.dlg.Dest, Transport: h.dlg.Transport}
	}
	if !r.by.post(h) {
		return // call 1 is over: this call goes on
	}
	// From here Y's requests go to call 1.
	c.b.aliasIfFiled(h.dlg.CallID, r.by)
	c.leave(h.dlg)
	c.log.Info("leg handed over for an attended transfer", "to", r.by.id, "party", h.who.num)
	c.state = stEnded
	c.dropPending(isA)
	c.cdr.HangupBy = "transfer"
	c.cdr.Reason = "transferred to " + r.peer + " by " + c.parties[tLeg].num
	c.linger = time.Now().Add(leg.ByeTimeout)
	if isA {
		c.byeA()
	} else {
		c.byeB()
	}
}

// onHandover runs in call 1 with call 2's answer.
func (t *transfers) onHandover(h *handover) {
	c, x := t.c, t.cur
	if h.code != 0 {
		if x == h.x {
			x.failed(h.code, h.reason, directory.Failed, "replaces: "+itoa(h.code)+" "+h.reason)
		}
		return
	}
	if x != h.x || c.state != stAnswered {
		// The transfer was given up meanwhile: the leg is ours to end.
		c.log.Info("attended transfer given up; hanging up the party handed over", "party", h.who.num)
		bye := h.dlg.Request(sip.BYE)
		c.wg.Go(func() { c.sendBye(bye) })
		return
	}
	x.handedOver()
	toA := x.fromA
	moved := leg.Index(toA)
	sent := c.Legs[moved].SDP // what the transferor got: the transferee's media
	old := *c.LegDialog(toA)
	*c.LegDialog(toA) = h.dlg
	c.Relay.SetPeer(leg.RelayLeg(toA), leg.PeerIP(h.dlg.Dest))
	c.dropPending(toA)
	if !x.gone {
		c.leave(old)
	}
	transferor := c.parties[moved]
	c.setParty(moved, h.who)
	c.b.swap(c, transferor.ext, h.who.ext)
	if toA {
		var cred *credential
		if h.who.ext != "" {
			cred, _ = t.b.s.credential(h.who.ext)
		}
		c.caller = cred
		c.Legs[0].Origin = h.org
	} else {
		c.Legs[1].Origin = h.org
		t := h.tgt
		c.bTarget = &t
	}
	c.log.Info("call transferred (attended)", "by", transferor.num, "to", h.who.num)
	c.joinCDR(x.started, h.who, x.target, "transferred to "+h.who.num+" by "+transferor.num,
		"transferred by "+transferor.num, toA)
	if !x.gone {
		c.sendInOrder(x.notify(&old, "SIP/2.0 200 OK", true), old.Request(sip.BYE))
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
		body, err = sdpneg.LegSDP(sd, o, c.b.mediaIP(d.Dest), c.Relay, leg.RelayLeg(toA))
	}
	if err != nil {
		c.log.Info("attended transfer: no sdp for the party that joined", "err", err)
		c.hangup("system", "transfer: no sdp")
		return
	}
	req := d.Request(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	c.Legs[leg.Index(toA)].SDP = body
	c.Unhold = true // our re-INVITE is out: theirs get 491
	c.wg.Go(func() {
		res, err := c.b.sendAndWait(c.reqCtx, req)
		c.post(joinResult{t: t, toA: toA, res: res, err: err})
	})
}

func (t *transfers) onJoinResult(r joinResult) {
	c := t.c
	c.Unhold = false
	if c.state != stAnswered || c.LegDialog(r.toA).CallID != r.dialogID() {
		return
	}
	if r.err != nil || r.res == nil || !r.res.IsSuccess() {
		status := "no answer"
		if r.res != nil {
			status = itoa(r.res.StatusCode) + " " + r.res.Reason
		}
		c.log.Info("transferred party refused the new media; hanging up", "status", status)
		c.hangup("system", "transfer: re-invite "+status)
		return
	}
	d := c.LegDialog(r.toA)
	if err := c.b.Client.WriteRequest(d.Request(sip.ACK)); err != nil {
		c.log.Debug("ack not sent", "err", err)
	}
	_, m, err := sdpneg.Parse(r.res.Body())
	if err != nil {
		c.hangup("system", "transfer: bad sdp answer")
		return
	}
	ml := leg.RelayLeg(r.toA)
	c.SetLegCodec(ml, sdpneg.FirstVoice(r.res.Body()))
	sdpneg.SetMedia(c.Relay, ml, m)
	c.Relay.SetHold(ml, m.Hold)
	// The transferor sends RTP until it has our BYE.
	c.afterChain(relatchEvent{toA: r.toA, callID: d.CallID, rtp: m.RTP, rtcp: m.RTCP})
	c.UnholdTransferee(!r.toA, r.res.Body())
}

// dialogID is the Call-ID of the re-INVITE r answers.
func (r joinResult) dialogID() string {
	if r.res != nil && r.res.CallID() != nil {
		return r.res.CallID().Value()
	}
	return ""
}

// handleOn answers an INVITE with Replaces naming a leg of the call.
func (ev *replaceEvent) handleOn(c *call) {
	reject := func(code int, reason string) {
		c.b.Responder.Respond(ev.tx, ev.req, code, reason)
		close(ev.done)
	}
	isA, ok := c.replacedLeg(ev.rep)
	if !ok {
		reject(481, "Call/Transaction Does Not Exist")
		return
	}
	// RFC 3891 §6: only someone with the replaced dialog's authority
	// replaces it: its own user (another of their phones), or a user whom
	// authz lets act on this call.
	if replaced := c.parties[leg.Index(isA)]; replaced.userID != ev.cred.UserID && ev.takeOver != nil {
		reason := authz.DeniedReason(ev.takeOver)
		c.log.Info("replaces refused", "by", ev.cred.Ext, "reason", reason)
		reject(403, "Forbidden ("+reason+")")
		return
	}
	if !c.idle() {
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
	if err != nil || !commonFormats(ans, sd) {
		reject(488, "Not Acceptable Here")
		return
	}
	sdpneg.SendRecv(ans)
	joined := sdpneg.FirstVoiceSD(ans) // what the new phone and the relay agree on
	org := sdpneg.Origin{ID: uint64(time.Now().UnixNano()&0x7fffffffffff) + 3}
	src := ev.req.Source()
	body, err := sdpneg.LegSDP(ans, &org, c.b.mediaIP(src), c.Relay, leg.RelayLeg(isA))
	if err != nil {
		reject(488, "Not Acceptable Here")
		return
	}
	req := ev.req.Clone()
	req.To().Params.Add("tag", sip.GenerateTagN(16))
	d := c.b.uasDialog(req)
	at := leg.Index(isA)
	old := *c.LegDialog(isA)
	c.dropPending(isA)
	// The new dialog's ACK and requests come to this call.
	c.b.alias(d.CallID, c)
	*c.LegDialog(isA) = d
	c.leave(old)
	c.Relay.SetPeer(leg.RelayLeg(isA), leg.PeerIP(d.Dest))
	ok200 := c.okResponse(req, body, d.Contact)
	if err := ev.tx.Respond(ok200); err != nil {
		c.log.Info("200 to the replacing party not sent", "err", err)
		close(ev.done)
	} else {
		c.awaitAck(req, pending2xx{fromA: isA, tx: ev.tx, res: ok200, done: ev.done})
	}
	if isA {
		c.Legs[0].SDP, c.Legs[0].Origin = body, org
	} else {
		c.Legs[1].SDP, c.Legs[1].Origin = body, org
	}
	c.SetLegCodec(leg.RelayLeg(isA), joined)
	sdpneg.SetMedia(c.Relay, leg.RelayLeg(isA), m)
	c.Relay.SetHold(leg.RelayLeg(isA), m.Hold)

	replaced := c.parties[at]
	who := party{userID: ev.cred.UserID, num: ev.cred.Ext, ext: ev.cred.Ext}
	c.setParty(at, who)
	c.b.swap(c, replaced.ext, who.ext)
	if isA {
		c.caller = ev.cred
	} else {
		c.bTarget = &route.Target{UserID: who.userID, Ext: who.ext, Dest: src, Transport: d.Transport}
	}
	c.log.Info("at replaced", "replaced", replaced.num, "by", who.num)
	c.joinCDR(time.Now().UTC(), who, who.num, "replaced by "+who.num, "replaced "+replaced.num, isA)
	c.sendInOrder(old.Request(sip.BYE))
	c.afterChain(relatchEvent{toA: isA, callID: d.CallID, rtp: m.RTP, rtcp: m.RTCP})
	c.UnholdTransferee(!isA, ev.req.Body())
}

// commonFormats keeps in ans's audio only the formats offer's audio has;
// false when none is left.
func commonFormats(ans, offer *sdp.SessionDescription) bool {
	am, om := sdpneg.Audio(ans), sdpneg.Audio(offer)
	if am == nil || om == nil {
		return false
	}
	var keep []string
	for _, f := range am.MediaName.Formats {
		if containsStr(om.MediaName.Formats, f) {
			keep = append(keep, f)
		}
	}
	if len(keep) == 0 {
		return false
	}
	am.MediaName.Formats = keep
	return true
}

// replacing is the b2bua's service for an INVITE with Replaces: it
// passes one to the call whose leg it names, asking authz first who may
// take over whose leg.
type replacing struct {
	b *b2bua
}

// invite passes an INVITE with Replaces to the call it names, and waits
// until that call answered it (and, for a 2xx, its ACK came).
func (rp *replacing) invite(req *sip.Request, tx sip.ServerTransaction, cred *credential, value string) {
	b := rp.b
	rep, ok := parseReplaces(value)
	if !ok {
		b.s.rp.Respond(tx, req, 400, "Bad Request (Bad Replaces)")
		return
	}
	if cred == nil {
		b.s.rp.Respond(tx, req, 403, "Forbidden (Replaces From A Trunk)")
		return
	}
	c := b.lookup(rep.callID)
	if c == nil {
		b.s.rp.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	takeOver, err := rp.mayTakeOver(cred, c)
	if err != nil {
		b.log.Warn("replaces refused: directory unavailable", "call_id", req.CallID().Value(), "err", err)
		res := b.s.rp.Response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", storeRetryAfter))
		b.s.rp.Send(tx, res)
		return
	}
	done := make(chan struct{})
	if !c.post(&replaceEvent{req: req, tx: tx, cred: cred, rep: rep, takeOver: takeOver, done: done}) {
		b.s.rp.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	<-done
}

// mayTakeOver asks authz whether the user of cred may act on c's call
// (calls.control over its parties). It returns nil when it may, the
// refusal when not, and err when the directory cannot answer.
func (rp *replacing) mayTakeOver(cred *credential, c *call) (refusal, err error) {
	b := rp.b
	var parties []int64
	if legs := c.legs.Load(); legs != nil {
		for _, p := range legs {
			if p.userID != 0 {
				parties = append(parties, p.userID)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.s.cfg.StoreTimeout)
	defer cancel()
	acc, err := b.s.store.Access(ctx, cred.UserID)
	if err != nil {
		return nil, fmt.Errorf("access of %s: %w", cred.Ext, err)
	}
	return authz.Can(authz.NewSubject(acc), authz.CallsControl,
		authz.Resource{Kind: authz.KindCall, UserIDs: parties}), nil
}

// Call 2's handover and the answer to our re-INVITE of the party that
// joined run in call 1's transfer room (a takeoverReq and a replaceEvent
// run on the call they name, above).

func (ev *handover) handleOn(*call)  { ev.x.t.onHandover(ev) }
func (ev joinResult) handleOn(*call) { ev.t.onJoinResult(ev) }

// callOver answers an INVITE with Replaces that found the call over.
func (ev *replaceEvent) callOver(c *call) {
	c.b.Responder.Respond(ev.tx, ev.req, 481, "Call/Transaction Does Not Exist")
	close(ev.done)
}

// callOver tells the asking call that this one is over.
func (ev *takeoverReq) callOver(*call) {
	ev.by.post(&handover{x: ev.x, code: 481, reason: "Call/Transaction Does Not Exist"})
}

// callOver ends a dialog handed over too late: it is the call's to end.
func (ev *handover) callOver(c *call) {
	if ev.code == 0 {
		bye := ev.dlg.Request(sip.BYE)
		c.wg.Go(func() { c.sendBye(bye) })
	}
}
