package sip

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// TestRegisterRetransmission: a REGISTER over UDP sent again with the same
// branch gets the same final response (the same To tag) without a second
// run of the registrar, until its transaction is Timer J old.
func TestRegisterRetransmission(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "20001")
	var handled atomic.Int32
	ts := startServerHooked(t, st, nil, func(s *Server) {
		s.hooks.handled = func(_ netip.Addr, method string) {
			if method == "REGISTER" {
				handled.Add(1)
			}
		}
	})
	phone := newUDPPeer(t, net.IPv4(127, 0, 0, 1), ts.udp)
	exchange := phone.exchange
	local, ruri := phone.local(), "sip:"+ts.udp
	register := func(branch string, cseq int, auth string) []byte {
		return fmt.Appendf(nil, "REGISTER %s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:20001@127.0.0.1>;tag=r1\r\n"+
			"To: <sip:20001@127.0.0.1>\r\n"+
			"Call-ID: retrans@%s\r\n"+
			"CSeq: %d REGISTER\r\n"+
			"Contact: <sip:20001@%s>\r\n"+
			"Expires: 600\r\n%s"+
			"Content-Length: 0\r\n\r\n", ruri, local, branch, local, cseq, local, auth)
	}
	res := exchange(register("a", 1, ""))
	if !bytes.HasPrefix(res, []byte("SIP/2.0 401 ")) {
		t.Fatalf("want 401, got %q", res)
	}
	auth := digestAnswer(t, res, "Authorization", "20001", ts.realm(), "REGISTER", ruri)
	req := register("b", 2, auth)
	first := exchange(req)
	if !bytes.HasPrefix(first, []byte("SIP/2.0 200 ")) {
		t.Fatalf("want 200, got %q", first)
	}
	for range 2 {
		if again := exchange(req); !bytes.Equal(again, first) {
			t.Fatalf("retransmission answered\n%s\nnot\n%s", again, first)
		}
	}
	if n := handled.Load(); n != 1 {
		t.Fatalf("the registrar ran %d times for one REGISTER and its retransmissions", n)
	}
	// Twice Timer J later the transaction is forgotten: the same request
	// is a new one (and its nonce count a replay).
	ts.clock.Advance(2*wire.TimerJ() + time.Second)
	if again := exchange(req); bytes.Equal(again, first) {
		t.Fatalf("answered from a transaction %v old", 2*wire.TimerJ())
	}
	if n := handled.Load(); n != 2 {
		t.Fatalf("the registrar ran %d times, want 2", n)
	}
	// A third party on another address replays the phone's request, branch
	// and all: a transaction is the branch and the address it came from, so
	// the replay is a request of its own (a nonce count used again), not a
	// retransmission answered with the phone's 200.
	spy := newUDPPeer(t, net.IPv4(127, 0, 0, 3), ts.udp)
	if res := spy.exchange(req); bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
		t.Fatalf("a replay from another address was answered 200:\n%s", res)
	}
	if n := handled.Load(); n != 3 {
		t.Fatalf("the registrar ran %d times, want 3 (the replay is a request of its own)", n)
	}
}
