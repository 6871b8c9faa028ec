package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// The bridge's transactions on its legs: a re-INVITE from one leg goes to
// the other leg with its SDP pointed at the relay, and its answer comes
// back the same way (passOffer and passAnswer); one without SDP is
// answered by us alone with the SDP that leg already has. Whether a
// re-INVITE may pass now is the call's (reinvite.go). When a leg changes
// hands, the bridge takes the party that stayed off hold
// (unholdTransferee) and has the leg's relay source latch again
// (relatch).

// reinvite is a re-INVITE from leg A (fromA) or B, passed to the other
// leg or answered by the bridge: it is answered on tx, and done is closed
// once it is.
type reinvite struct {
	req   *sip.Request
	tx    sip.ServerTransaction
	fromA bool
	done  chan struct{}
}

// legTx is what the bridge's transactions on its legs need of the call,
// handed to it as functions: the bridge knows nothing of the call.
type legTx struct {
	// send sends req off the call's actor; done runs on the actor with its
	// result, live false once the call is no longer answered.
	send func(req *sip.Request, done func(res *sip.Response, err error, live bool))
	// ack sends the ACK of a 2xx to our re-INVITE.
	ack func(ack *sip.Request) error
	// accept answers ri with our 2xx carrying body and our contact, resent
	// until its ACK comes (offer: body is our offer, and the ACK the
	// answer); a 2xx not sent closes ri.done.
	accept func(ri *reinvite, body []byte, contact sip.ContactHeader, offer bool)
	// refuse answers req on tx with a final error.
	refuse func(tx sip.ServerTransaction, req *sip.Request, code int, reason string)
}

// refuse answers ri with a final error.
func (br *bridge) refuse(ri *reinvite, code int, reason string) {
	br.tx.refuse(ri.tx, ri.req, code, reason)
	close(ri.done)
}

// transacting reports whether the bridge's re-INVITE toward a leg is out:
// ours passing a leg's on, or taking a party off hold.
func (br *bridge) transacting() bool { return br.reinv != nil || br.unhold }

// reinvite passes the re-INVITE ri from a leg to the other leg, or
// answers one without SDP itself.
func (br *bridge) reinvite(ri *reinvite) {
	if len(ri.req.Body()) == 0 {
		br.reofferLocally(ri)
		return
	}
	req, err := br.passOffer(ri.fromA, ri.req.Body())
	if err != nil {
		br.refuse(ri, 488, "Not Acceptable Here")
		return
	}
	br.reinv = ri
	br.tx.send(req, br.reinviteDone)
}

// reofferLocally answers a re-INVITE without SDP (a session refresh, or a
// resume asking for a new offer) without involving the other leg: our 2xx
// offers the SDP that leg already has from us, unchanged (RFC 3264 §8),
// and the answer in its ACK updates only that leg's media.
func (br *bridge) reofferLocally(ri *reinvite) {
	in := &br.leg[legIndex(ri.fromA)]
	if in.SDP == nil {
		br.refuse(ri, 488, "Not Acceptable Here")
		return
	}
	br.tx.accept(ri, in.SDP, in.Dialog.Contact, true)
}

// reinviteDone takes the other leg's response to the re-INVITE passed on,
// and answers the leg that sent it; live is false once the call is no
// longer answered.
func (br *bridge) reinviteDone(res *sip.Response, err error, live bool) {
	ri := br.reinv
	br.reinv = nil
	if ri == nil {
		return
	}
	if err != nil || !live {
		br.refuse(ri, 500, "Server Internal Error")
		return
	}
	if !res.IsSuccess() {
		out := sip.NewResponseFromRequest(ri.req, res.StatusCode, res.Reason, nil)
		if err := ri.tx.Respond(out); err != nil {
			br.log.Debug("sip response not sent", "code", out.StatusCode, "err", err)
		}
		close(ri.done)
		return
	}
	// ACK the 2xx: same CSeq as the re-INVITE.
	ack := br.leg[legIndex(!ri.fromA)].Dialog.Request(sip.ACK)
	if err := br.tx.ack(ack); err != nil {
		br.log.Debug("ack not sent", "err", err)
	}
	body := br.passAnswer(ri.fromA, ri.req.Body(), res.Body())
	br.tx.accept(ri, body, br.leg[legIndex(ri.fromA)].Dialog.Contact, false)
}

// dropReinvite answers 500 to the re-INVITE passed on whose answer will
// not come: the call is over.
func (br *bridge) dropReinvite() {
	if ri := br.reinv; ri != nil {
		br.reinv = nil
		br.refuse(ri, 500, "Server Internal Error")
	}
}

// unholdTransferee takes the transferee off the hold the transferor put
// it on before the REFER: a re-INVITE with the target's SDP.
func (br *bridge) unholdTransferee(toA bool, answer []byte) {
	l := &br.leg[legIndex(toA)]
	_, m, err := sdpneg.Parse(l.SDP)
	if err != nil || !m.Hold {
		br.relay.SetHold(mediaLeg(toA), false)
		return
	}
	sd, _, err := sdpneg.Parse(answer)
	if err != nil {
		return
	}
	sdpneg.SendRecv(sd)
	sdpneg.WidenOffer(sd)
	body, err := sdpneg.LegSDP(sd, &l.Origin, br.mediaIP(l.Dialog.Dest), br.relay, mediaLeg(toA))
	if err != nil {
		return
	}
	req := l.Reinvite(body)
	br.unhold = true
	br.tx.send(req, func(res *sip.Response, err error, live bool) { br.unholdDone(toA, res, err, live) })
}

// unholdDone takes the answer to unholdTransferee's re-INVITE to leg A
// (toA) or B; live is false once the call is no longer answered.
func (br *bridge) unholdDone(toA bool, res *sip.Response, err error, live bool) {
	br.unhold = false
	if err != nil || res == nil || !live {
		return
	}
	if !res.IsSuccess() {
		br.log.Info("transferee not taken off hold", "status", res.StatusCode)
		return
	}
	if err := br.tx.ack(br.legDialog(toA).Request(sip.ACK)); err != nil {
		br.log.Debug("ack not sent", "err", err)
	}
	if _, m, err := sdpneg.Parse(res.Body()); err == nil {
		br.setLegCodec(mediaLeg(toA), sdpneg.FirstVoice(res.Body()))
		sdpneg.SetMedia(br.relay, mediaLeg(toA), m)
		br.relay.SetHold(mediaLeg(toA), m.Hold)
	}
}

// relatch unlatches leg A (toA) or B, transferred, when its relay source
// is not rtp, the target's SDP address, and its dialog is still callID's,
// so that the target's next packet latches it; rtcp is the target's RTCP
// address.
func (br *bridge) relatch(toA bool, callID string, rtp, rtcp netip.AddrPort) {
	if br.legDialog(toA).CallID != callID || !rtp.IsValid() {
		return
	}
	ml := mediaLeg(toA)
	if src := br.relay.Stats(ml).Source; !src.IsValid() || src == rtp {
		return
	}
	br.relay.SetRemote(ml, netip.AddrPort{}, netip.AddrPort{})
	br.relay.SetRemote(ml, rtp, rtcp)
}

// legDialog returns the dialog of leg A or B.
func (br *bridge) legDialog(a bool) *leg.Dialog {
	return &br.leg[legIndex(a)].Dialog
}

// legNamed returns the leg whose dialog names reports it names (a
// Replaces header's).
func (br *bridge) legNamed(names func(*leg.Dialog) bool) (isA, ok bool) {
	switch {
	case names(&br.leg[0].Dialog):
		return true, true
	case names(&br.leg[1].Dialog):
		return false, true
	}
	return false, false
}
