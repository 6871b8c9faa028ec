package transport

import (
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// An ACK to the 2xx of a call's INVITE is the one request of every call
// that needs no transaction: sipgo would give it one all the same (its
// goroutine, a connection lookup, a context with a timer, the state
// machine) only to end it when the handler returns. The edge hands such an
// ACK to the call side itself (Parts.TakeAck), parsed as sipgo parses it;
// the ACK of a non-2xx, which has its INVITE's branch, is absorbed here
// when that INVITE was served outside sipgo (wire.Transactions.AbsorbAck);
// any other ACK the call side does not claim, one a transaction of sipgo's
// may absorb among them, still goes to sipgo.

// toTag returns the tag parameter of a From or To header's value v, "" when
// it has none; parameters inside a name-addr's <> are the URI's.
func toTag(v string) string {
	if i := strings.LastIndexByte(v, '>'); i >= 0 {
		v = v[i+1:] // name-addr: the header's parameters follow the '>'
	} // addr-spec: those follow its first ';' (viaParamValue skips what precedes it)
	tag, _ := viaParamValue(v, "tag")
	return tag
}

// takeAck hands the ACK in data (m, split from it before fixVia) from addr
// to the call side when it claims it, and reports whether it did.
func (e *Edge) takeAck(data []byte, m *rawMessage, addr net.Addr) bool {
	if m.Method() != "ACK" {
		return false
	}
	branch := m.syntheticBranch()
	if branch == "" {
		top := m.First("via")
		if i := strings.IndexByte(top, ','); i >= 0 {
			top = top[:i]
		}
		branch, _ = viaParamValue(top, "branch")
	}
	if ua, ok := addr.(*net.UDPAddr); ok && e.parts.Transactions.AbsorbAck(ua.AddrPort(), branch) {
		// The ACK of a non-2xx to an INVITE served outside sipgo
		// (wire.InviteTx): its transaction stops resending the response.
		// Asked first: that response may be a stateless-tagged one.
		return true
	}
	if strings.HasPrefix(toTag(m.First("to")), wire.StatelessTagPrefix) {
		// The ACK of a stateless challenge's 407 (RFC 3261 §17.1.1.3):
		// nothing waits for it. sipgo would find no transaction for it,
		// start a goroutine to hand it to the server's ACK handler, which
		// finds no call.
		if e.parts.CountRequest != nil {
			e.parts.CountRequest("ACK")
		}
		return true
	}
	if e.parts.TakeAck == nil {
		return false
	}
	num, _, _ := strings.Cut(strings.TrimSpace(m.First("cseq")), " ")
	cseq, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return false
	}
	take := e.parts.TakeAck(m.First("call-id"), branch, uint32(cseq))
	if take == nil {
		return false
	}
	msg, err := e.parse.ParseSIP(data)
	if err != nil {
		return false // sipgo fails it too, and says so (ParseFailed)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return false
	}
	// As sipgo's UDP transport gives a request it parsed.
	req.SetTransport("UDP")
	req.SetSource(addr.String())
	take(req)
	return true
}
