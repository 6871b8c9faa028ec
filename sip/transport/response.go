package transport

import (
	"bytes"
	"net"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// A response over UDP to a request the server sent through its own client
// transactions (wire.Clients) goes to that transaction from here, parsed
// once, on the socket's reader: sipgo would start a goroutine for it and
// find no transaction of its own. The transaction is found before the
// parse, by the top Via's branch and the CSeq method read off the
// datagram; any other response goes on to sipgo as before.

// Raw returns the socket under c, for the server's own client
// transactions to send from (wire.Clients.Request).
func (c *PacketConn) Raw() net.PacketConn { return c.PacketConn }

// takeResponse hands the response in data from addr to the server's
// client transaction it answers, and reports whether there was one.
func (e *Edge) takeResponse(data []byte, addr net.Addr) bool {
	clients := e.parts.Clients
	if clients == nil || !bytes.HasPrefix(data, []byte("SIP/")) {
		return false
	}
	vs, ve := topVia(data)
	if vs < 0 {
		return false
	}
	branch, ok := viaParamValue(string(data[vs:ve]), "branch")
	if !ok || branch == "" {
		return false
	}
	cseq := bytes.Fields(wire.HeaderValue(data, "cseq"))
	if len(cseq) != 2 {
		return false
	}
	tx := clients.Match(branch, string(cseq[1]))
	if tx == nil {
		return false
	}
	msg, err := e.parse.ParseSIP(data)
	if err != nil {
		return false // sipgo fails it too, and says so
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		return false
	}
	// As sipgo's UDP transport gives a response it parsed.
	res.SetTransport("UDP")
	res.SetSource(addr.String())
	tx.Receive(res)
	return true
}
