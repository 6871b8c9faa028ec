package transport

import (
	"bytes"
	"net"
	"sync"

	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// A request the edge does not act on itself (anything but a REGISTER and
// an INVITE without credentials: an ACK, a BYE, an INVITE with
// credentials) goes to sipgo without the edge's parse, since sipgo parses
// it anyway. If sipgo cannot parse it, it logs so at once, on the read
// loop that handed it the datagram, before reading the next; the server
// tells the edge (ParseFailed), which refuses the request as if its own
// parse had failed.

// pending is the request a PacketConn last passed to sipgo unparsed.
type pending struct {
	mu   sync.Mutex
	m    *rawMessage // nil: none
	n    int         // its length as passed on (top Via edited)
	addr net.Addr
}

func (p *pending) set(m *rawMessage, n int, addr net.Addr) {
	p.mu.Lock()
	p.m, p.n, p.addr = m, n, addr
	p.mu.Unlock()
}

// take returns the request pending if data is it, and forgets it.
func (p *pending) take(data []byte) (*rawMessage, net.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || p.n != len(data) {
		return nil, nil
	}
	got, _ := wire.Split(data)
	m := p.m
	for _, h := range []string{"call-id", "cseq", "from"} {
		if got.First(h) != m.First(h) {
			return nil, nil
		}
	}
	if got.Start != m.Start {
		return nil, nil
	}
	p.m = nil
	return m, p.addr
}

// needsParse reports whether the edge acts on the request in data itself
// (challengeStateless, Transactions.Serve) and so needs it parsed: a
// REGISTER, an INVITE without credentials, and, when Transactions serves
// them, a BYE, any INVITE and a CANCEL (which may match no INVITE there:
// it is then parsed twice, sipgo answering it).
func (e *Edge) needsParse(data []byte) bool {
	if bytes.HasPrefix(data, []byte("BYE ")) {
		return e.parts.Transactions.ServesBye()
	}
	if bytes.HasPrefix(data, []byte("INVITE ")) || bytes.HasPrefix(data, []byte("CANCEL ")) {
		if e.parts.Transactions.ServesInvite() {
			return true
		}
	}
	dh, ok := challengeable(data)
	return ok && (dh == auth.Registrar || wire.HeaderValue(data, dh.Answer()) == nil)
}

// challengeable returns the headers of the challenge a request in data
// may get statelessly: a REGISTER or an INVITE.
func challengeable(data []byte) (auth.Headers, bool) {
	switch {
	case bytes.HasPrefix(data, []byte("REGISTER ")):
		return auth.Registrar, true
	case bytes.HasPrefix(data, []byte("INVITE ")):
		return auth.Proxy, true
	}
	return auth.Headers{}, false
}

// ParseFailed is told of a datagram, data, that sipgo could not parse. It
// reports whether data was a request one of the edge's listeners passed on
// unparsed; that request is then refused (400) or dropped (an ACK) as the
// edge does a request it cannot parse itself. Otherwise (a response, a
// datagram on a connection of sipgo's own) the caller counts the drop.
func (e *Edge) ParseFailed(data string) bool {
	e.mu.Lock()
	conns := e.packetConns
	e.mu.Unlock()
	for _, c := range conns {
		m, addr := c.pending.take([]byte(data))
		if m == nil {
			continue
		}
		v := e.unparsable(m, false)
		e.log.Debug("sip request refused", "src", addr.String(), "code", v.code, "reason", v.why, "answered", v.reply != nil)
		if v.reply != nil {
			if _, err := c.PacketConn.WriteTo(v.reply, addr); err != nil {
				e.log.Debug("sip response not sent", "src", addr.String(), "err", err)
			}
		}
		return true
	}
	return false
}
