package sip

import (
	"log/slog"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// leg is one dialog of a call with what goes with it: where its requests
// go (dialog), the origin line of the SDP we send on it, and the last SDP
// we sent on it, which a re-INVITE without SDP is answered with and a
// transfer offers onward. A leg builds the requests we send on it (a
// re-INVITE, a BYE), tells whether a request names its dialog and follows
// its peer's address. It knows nothing of the other leg: the call's bridge
// (bridge.go), and the features, join legs on the relay and move them.
//
// Leg A is the caller's dialog with us, leg B the dialog we set up with
// whoever answered; a transfer or attended transfer puts another dialog in
// place of either. Only the call's goroutine touches its legs.
type leg struct {
	dlg    dialog
	origin sdpneg.Origin
	sdp    []byte
}

// reinvite is our re-INVITE on the leg with body, our offer pointed at the
// relay, which becomes the last SDP we sent on it.
func (l *leg) reinvite(body []byte) *sip.Request {
	req := l.dlg.request(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	l.sdp = body
	return req
}

// bye is our BYE on the leg.
func (l *leg) bye() *sip.Request { return l.dlg.request(sip.BYE) }

// owns reports whether req names the leg's dialog: its Call-ID, the
// peer's tag in From and ours in To (RFC 3261 §12.2.2).
func (l *leg) owns(req *sip.Request) bool {
	d := &l.dlg
	return d.callID != "" && d.callID == req.CallID().Value() && d.remoteTag == tag(req.From().Params) &&
		d.localTag == tag(req.To().Params)
}

// followPeer points the leg's later requests at where its peer now sends
// req from when that changed (a NAT rebinding over UDP), so that our BYE
// reaches the phone.
func (l *leg) followPeer(req *sip.Request, log *slog.Logger) {
	d := &l.dlg
	if src := req.Source(); src != d.dest && !sip.IsReliable(req.Transport()) &&
		strings.EqualFold(req.Transport(), d.transport) {
		log.Info("leg's peer moved", "from", d.dest, "to", src)
		d.dest = src
	}
}

// legIndex is the index in bridge.leg of leg A (fromA) or B.
func legIndex(fromA bool) int {
	if fromA {
		return 0
	}
	return 1
}

// party is who is on one leg of an answered call.
type party struct {
	userID int64
	num    string // extension or number
	ext    string // "" outside the PBX (trunk)
}

// mediaLeg is the relay leg of leg A (a) or B.
func mediaLeg(a bool) media.Leg {
	if a {
		return media.LegA
	}
	return media.LegB
}
