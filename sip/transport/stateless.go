package transport

import (
	"net"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/registrar"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// A REGISTER or INVITE without credentials is answered here, as the
// datagram comes in, with the challenge its handler would send: no
// transaction, dialog or goroutine is kept for it (RFC 3261 §8.2.6 lets a
// server answer statelessly). A flood of such requests costs a parse and
// one write each. Anything the handlers would answer otherwise (a request
// they would refuse as malformed, an in-dialog INVITE, one from a trunk)
// goes on to them. Over TCP the flood limit bounds the state instead.

// challengeStateless answers data, a datagram from from, with a challenge
// and reports true, when it is a REGISTER or INVITE that its handler would
// challenge. req is data as sipgo parsed it (datagram), for this use
// only: it is changed.
func (e *Edge) challengeStateless(pc net.PacketConn, from *net.UDPAddr, data []byte, req *sip.Request) bool {
	dh, ok := challengeable(data)
	if !ok || wire.HeaderValue(data, dh.Answer()) != nil {
		return false
	}
	if req.Via() == nil || wire.CheckRequest(req) != "" || wire.HopLimit(req) == 0 ||
		wire.Header(req, "require") != nil || !sipScheme(req.Recipient.Scheme) {
		return false
	}
	src := from.AddrPort()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if dh == auth.Registrar {
		if err := registrar.CheckSyntax(req); err != nil {
			return false
		}
	} else if wire.Tag(req.To().Params) != "" || req.Contact() == nil || e.parts.FromTrunk(src.Addr()) {
		return false
	}
	req.SetSource(src.String())
	req.SetTransport("UDP")
	res := e.parts.Auth.Challenge(req, dh)
	if err := res.SendTo(pc, wire.ResponseDest(req.Via(), src)); err != nil {
		e.log.Debug("stateless challenge not sent", "src", src.String(), "err", err)
	}
	e.parts.CountRequest(string(req.Method))
	return true
}

func sipScheme(s string) bool { return strings.EqualFold(s, "sip") || strings.EqualFold(s, "sips") }
