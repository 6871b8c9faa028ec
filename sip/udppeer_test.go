package sip

import (
	"net"
	"testing"
	"time"
)

// udpPeer is a bare UDP socket on ip (loopback) that writes raw SIP to a
// server's UDP listener and reads what comes back.
type udpPeer struct {
	t    testing.TB
	conn *net.UDPConn
	to   *net.UDPAddr
}

// newUDPPeer opens a peer on ip talking to server, an address:port; it is
// closed when the test ends.
func newUDPPeer(t testing.TB, ip net.IP, server string) *udpPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	return &udpPeer{t: t, conn: conn, to: to}
}

// local is the peer's address:port.
func (p *udpPeer) local() string { return p.conn.LocalAddr().String() }

func (p *udpPeer) send(msg []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDP(msg, p.to); err != nil {
		p.t.Fatal(err)
	}
}

// read returns the next datagram, failing the test when none comes
// within 5 s.
func (p *udpPeer) read() []byte {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := p.conn.ReadFromUDP(buf)
	if err != nil {
		p.t.Fatalf("no answer: %v", err)
	}
	return buf[:n]
}

// exchange sends msg and returns the answer.
func (p *udpPeer) exchange(msg []byte) []byte {
	p.t.Helper()
	p.send(msg)
	return p.read()
}
