package transport

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/clock"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/digest"
)

// BenchmarkRegisterChallenge is the first half of BenchmarkRegister without
// the sockets: a REGISTER without credentials through the edge (split,
// checks, the one sipgo parse, Via fix) to its stateless 401, written to a
// PacketConn that drops it. Its allocations are the server's own.
func BenchmarkRegisterChallenge(b *testing.B) {
	e := benchEdge()
	from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	raw := []byte("REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-1-1\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:100000@127.0.0.1>;tag=b1\r\n" +
		"To: <sip:100000@127.0.0.1>\r\n" +
		"Call-ID: bench-1@127.0.0.1:40000\r\n" +
		"CSeq: 1 REGISTER\r\n" +
		"Contact: <sip:100000@127.0.0.1:40000>\r\n" +
		"Expires: 3600\r\n" +
		"User-Agent: sipp-bench\r\n" +
		"Content-Length: 0\r\n\r\n")
	pc := &sinkConn{}
	buf := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		n := copy(buf, raw)
		n, req, _ := e.datagram(pc, buf, n, from)
		if req == nil || !e.challengeStateless(pc, from, buf[:n], req) {
			b.Fatal("not challenged statelessly")
		}
	}
	if pc.n != b.N || !bytes.HasPrefix(pc.last, []byte("SIP/2.0 401 ")) {
		b.Fatalf("%d answers for %d requests, the last %q", pc.n, b.N, pc.last)
	}
}

// sinkConn is a PacketConn that keeps a copy of the last datagram written.
type sinkConn struct {
	net.PacketConn
	n    int
	last []byte
}

func (c *sinkConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	c.n++
	c.last = append(c.last[:0], p...)
	return len(p), nil
}

// benchEdge is an edge as a server builds it, as far as a stateless
// challenge goes: sipp-bench gets MD5 only, as in BenchmarkRegister.
func benchEdge() *Edge {
	checker := auth.New(auth.Config{Agent: "switchboard", Domain: "pbx.example", Algorithms: []digest.Algorithm{digest.MD5},
		MD5OnlyAgents: []string{"sipp-bench"}}, auth.Parts{Nonces: digest.NewNonces(5*time.Minute, clock.Real{}, 1<<16)})
	return New(Config{UserAgent: "switchboard", MaxMessageSize: 16 << 10}, Parts{Auth: checker,
		FromTrunk: func(netip.Addr) bool { return false }, CountDrop: func(string) {}, CountRequest: func(string) {}})
}
