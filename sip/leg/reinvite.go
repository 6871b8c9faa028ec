package leg

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// The bridge's transactions on its legs: a re-INVITE from one leg goes to
// the other leg with its SDP pointed at the relay, and its answer comes
// back the same way (passOffer and passAnswer); one without SDP is
// answered by us alone with the SDP that leg already has. Whether a
// re-INVITE may pass now is the call's. When a leg changes hands, the
// bridge takes the party that stayed off hold (UnholdTransferee) and has
// the leg's relay source latch again (Relatch).

// Incoming is a re-INVITE from leg A (FromA) or B, passed to the other
// leg or answered by the bridge: it is answered on Tx, and Done is closed
// once it is.
type Incoming struct {
	Req   *sip.Request
	Tx    sip.ServerTransaction
	FromA bool
	Done  chan struct{}
}

// Messenger is what the bridge's transactions on its legs need of the call,
// handed to it as functions: the bridge knows nothing of the call.
type Messenger struct {
	// Send sends req off the call's actor; done runs on the actor with its
	// result, live false once the call is no longer answered.
	Send func(req *sip.Request, done func(res *sip.Response, err error, live bool))
	// Ack sends the ACK of a 2xx to our re-INVITE.
	Ack func(ack *sip.Request) error
	// Accept answers ri with our 2xx carrying body and our contact, resent
	// until its ACK comes (offer: body is our offer, and the ACK the
	// answer); a 2xx not sent closes ri.Done.
	Accept func(ri *Incoming, body []byte, contact sip.ContactHeader, offer bool)
	// Refuse answers req on tx with a final error.
	Refuse func(tx sip.ServerTransaction, req *sip.Request, code int, reason string)
}

// refuse answers ri with a final error.
func (br *Bridge) refuse(ri *Incoming, code int, reason string) {
	br.tx.Refuse(ri.Tx, ri.Req, code, reason)
	close(ri.Done)
}

// Transacting reports whether the bridge's re-INVITE toward a leg is out:
// ours passing a leg's on, or taking a party off hold.
func (br *Bridge) Transacting() bool { return br.reinv != nil || br.Unhold }

// Reinvite passes the re-INVITE ri from a leg to the other leg, or
// answers one without SDP itself.
func (br *Bridge) Reinvite(ri *Incoming) {
	if len(ri.Req.Body()) == 0 {
		br.reofferLocally(ri)
		return
	}
	req, err := br.passOffer(ri.FromA, ri.Req.Body())
	if err != nil {
		br.refuse(ri, 488, "Not Acceptable Here")
		return
	}
	br.reinv = ri
	br.tx.Send(req, br.reinviteDone)
}

// reofferLocally answers a re-INVITE without SDP (a session refresh, or a
// resume asking for a new offer) without involving the other leg: our 2xx
// offers the SDP that leg already has from us, unchanged (RFC 3264 §8),
// and the answer in its ACK updates only that leg's media.
func (br *Bridge) reofferLocally(ri *Incoming) {
	in := &br.Legs[Index(ri.FromA)]
	if in.SDP == nil {
		br.refuse(ri, 488, "Not Acceptable Here")
		return
	}
	br.tx.Accept(ri, in.SDP, in.Dialog.Contact, true)
}

// reinviteDone takes the other leg's response to the re-INVITE passed on,
// and answers the leg that sent it; live is false once the call is no
// longer answered.
func (br *Bridge) reinviteDone(res *sip.Response, err error, live bool) {
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
		out := sip.NewResponseFromRequest(ri.Req, res.StatusCode, res.Reason, nil)
		if err := ri.Tx.Respond(out); err != nil {
			br.log.Debug("sip response not sent", "code", out.StatusCode, "err", err)
		}
		close(ri.Done)
		return
	}
	// ACK the 2xx: same CSeq as the re-INVITE.
	ack := br.Legs[Index(!ri.FromA)].Dialog.Request(sip.ACK)
	if err := br.tx.Ack(ack); err != nil {
		br.log.Debug("ack not sent", "err", err)
	}
	body := br.passAnswer(ri.FromA, ri.Req.Body(), res.Body())
	br.tx.Accept(ri, body, br.Legs[Index(ri.FromA)].Dialog.Contact, false)
}

// DropReinvite answers 500 to the re-INVITE passed on whose answer will
// not come: the call is over.
func (br *Bridge) DropReinvite() {
	if ri := br.reinv; ri != nil {
		br.reinv = nil
		br.refuse(ri, 500, "Server Internal Error")
	}
}

// UnholdTransferee takes the transferee off the hold the transferor put
// it on before the REFER: a re-INVITE with the target's SDP.
func (br *Bridge) UnholdTransferee(toA bool, answer []byte) {
	l := &br.Legs[Index(toA)]
	_, m, err := sdpneg.Parse(l.SDP)
	if err != nil || !m.Hold {
		br.Relay.SetHold(RelayLeg(toA), false)
		return
	}
	sd, _, err := sdpneg.Parse(answer)
	if err != nil {
		return
	}
	sdpneg.SendRecv(sd)
	sdpneg.WidenOffer(sd)
	body, err := sdpneg.LegSDP(sd, &l.Origin, br.mediaIP(l.Dialog.Dest), br.Relay, RelayLeg(toA))
	if err != nil {
		return
	}
	req := l.Reinvite(body)
	br.Unhold = true
	br.tx.Send(req, func(res *sip.Response, err error, live bool) { br.unholdDone(toA, res, err, live) })
}

// unholdDone takes the answer to unholdTransferee's re-INVITE to leg A
// (toA) or B; live is false once the call is no longer answered.
func (br *Bridge) unholdDone(toA bool, res *sip.Response, err error, live bool) {
	br.Unhold = false
	if err != nil || res == nil || !live {
		return
	}
	if !res.IsSuccess() {
		br.log.Info("transferee not taken off hold", "status", res.StatusCode)
		return
	}
	if err := br.tx.Ack(br.LegDialog(toA).Request(sip.ACK)); err != nil {
		br.log.Debug("ack not sent", "err", err)
	}
	if _, m, err := sdpneg.Parse(res.Body()); err == nil {
		br.SetLegCodec(RelayLeg(toA), sdpneg.FirstVoice(res.Body()))
		sdpneg.SetMedia(br.Relay, RelayLeg(toA), m)
		br.Relay.SetHold(RelayLeg(toA), m.Hold)
	}
}

// Relatch unlatches leg A (toA) or B, transferred, when its relay source
// is not rtp, the target's SDP address, and its dialog is still callID's,
// so that the target's next packet latches it; rtcp is the target's RTCP
// address.
func (br *Bridge) Relatch(toA bool, callID string, rtp, rtcp netip.AddrPort) {
	if br.LegDialog(toA).CallID != callID || !rtp.IsValid() {
		return
	}
	ml := RelayLeg(toA)
	if src := br.Relay.Stats(ml).Source; !src.IsValid() || src == rtp {
		return
	}
	br.Relay.SetRemote(ml, netip.AddrPort{}, netip.AddrPort{})
	br.Relay.SetRemote(ml, rtp, rtcp)
}

// LegDialog returns the dialog of leg A or B.
func (br *Bridge) LegDialog(a bool) *Dialog {
	return &br.Legs[Index(a)].Dialog
}

// LegNamed returns the leg whose dialog names reports it names (a
// Replaces header's).
func (br *Bridge) LegNamed(names func(*Dialog) bool) (isA, ok bool) {
	switch {
	case names(&br.Legs[0].Dialog):
		return true, true
	case names(&br.Legs[1].Dialog):
		return false, true
	}
	return false, false
}
