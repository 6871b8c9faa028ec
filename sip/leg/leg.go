package leg

import (
	"log/slog"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Leg is one dialog of a call with what goes with it: where its requests
// go (Dialog), the origin line of the SDP we send on it, and the last SDP
// we sent on it, which a re-INVITE without SDP is answered with and a
// transfer offers onward. A leg builds the requests we send on it (a
// re-INVITE, a BYE), tells whether a request names its dialog and follows
// its peer's address. It knows nothing of the other leg: the call that
// holds it joins legs on the relay and moves them.
//
// Leg A is the caller's dialog with us, leg B the dialog we set up with
// whoever answered; a transfer or attended transfer puts another dialog in
// place of either. Only the goroutine of the call that holds a leg
// touches it.
type Leg struct {
	Dialog Dialog
	Origin sdpneg.Origin // of the SDP we send on the leg
	SDP    []byte        // the last SDP we sent on the leg
}

// Reinvite is our re-INVITE on the leg with body, our offer pointed at the
// relay, which becomes the last SDP we sent on it.
func (l *Leg) Reinvite(body []byte) *sip.Request {
	req := l.Dialog.Request(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	l.SDP = body
	return req
}

// Bye is our BYE on the leg.
func (l *Leg) Bye() *sip.Request { return l.Dialog.Request(sip.BYE) }

// Owns reports whether req names the leg's dialog: its Call-ID, the
// peer's tag in From and ours in To (RFC 3261 §12.2.2).
func (l *Leg) Owns(req *sip.Request) bool {
	d := &l.Dialog
	return d.CallID != "" && d.CallID == req.CallID().Value() && d.RemoteTag == wire.Tag(req.From().Params) &&
		d.LocalTag == wire.Tag(req.To().Params)
}

// FollowPeer points the leg's later requests at where its peer now sends
// req from when that changed (a NAT rebinding over UDP), so that our BYE
// reaches the phone.
func (l *Leg) FollowPeer(req *sip.Request, log *slog.Logger) {
	d := &l.Dialog
	if src := req.Source(); src != d.Dest && !sip.IsReliable(req.Transport()) &&
		strings.EqualFold(req.Transport(), d.Transport) {
		log.Info("leg's peer moved", "from", d.Dest, "to", src)
		d.Dest = src
	}
}
