package sip

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
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

// register registers ext (password testPassword) at the peer's own
// address with ts, answering its digest challenge, and fails the test
// unless the server answers 200.
func (p *udpPeer) register(ts *testServer, ext string) {
	p.t.Helper()
	local, ruri := p.local(), "sip:"+ts.udp
	req := func(branch string, cseq int, auth string) []byte {
		return fmt.Appendf(nil, "REGISTER %s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:%s@127.0.0.1>;tag=r1\r\n"+
			"To: <sip:%s@127.0.0.1>\r\n"+
			"Call-ID: reg-%s@%s\r\n"+
			"CSeq: %d REGISTER\r\n"+
			"Contact: <sip:%s@%s>\r\n"+
			"Expires: 600\r\n%s"+
			"Content-Length: 0\r\n\r\n", ruri, local, branch, ext, ext, ext, local, cseq, ext, local, auth)
	}
	res := p.exchange(req("reg1", 1, ""))
	if !bytes.HasPrefix(res, []byte("SIP/2.0 401 ")) {
		p.t.Fatalf("want 401, got %q", res)
	}
	auth := digestAnswer(p.t, res, "Authorization", ext, ts.realm(), "REGISTER", ruri)
	if res := p.exchange(req("reg2", 2, auth)); !bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
		p.t.Fatalf("want 200, got %q", res)
	}
}

// digestAnswer returns the header field hdr (Authorization or
// Proxy-Authorization, with its CRLF) that answers the challenge in res, a
// raw 401 or 407, for user (password testPassword) sending method to ruri.
func digestAnswer(t testing.TB, res []byte, hdr, user, realm, method, ruri string) string {
	t.Helper()
	i := bytes.Index(res, []byte(`nonce="`))
	if i < 0 {
		t.Fatalf("no nonce in %q", res)
	}
	nonce := res[i+7:]
	nonce = nonce[:bytes.IndexByte(nonce, '"')]
	ha1 := md5.Sum([]byte(user + ":" + realm + ":" + testPassword))
	ha2 := md5.Sum([]byte(method + ":" + ruri))
	resp := md5.Sum([]byte(hex.EncodeToString(ha1[:]) + ":" + string(nonce) + ":00000001:c0ffee:auth:" + hex.EncodeToString(ha2[:])))
	return fmt.Sprintf("%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\"\r\n",
		hdr, user, realm, nonce, ruri, hex.EncodeToString(resp[:]))
}
