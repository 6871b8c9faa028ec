package sip

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// TestStatelessChallengeAck: the ACK of an INVITE's stateless 407 is
// absorbed as it comes in (its To tag is a stateless one): it reaches no
// handler, while an ACK with another tag still does.
func TestStatelessChallengeAck(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "20001")
	var acks, options atomic.Int32
	ts := startServerHooked(t, st, nil, func(s *Server) {
		s.hooks.handled = func(_ netip.Addr, method string) {
			switch method {
			case "ACK":
				acks.Add(1)
			case "OPTIONS":
				options.Add(1)
			}
		}
	})
	phone := newUDPPeer(t, net.IPv4(127, 0, 0, 1), ts.udp)
	send := func(msg string) { t.Helper(); phone.send([]byte(msg)) }
	read := phone.read
	local, ruri := phone.local(), "sip:20002@"+ts.udp
	head := func(method, branch, toTag string, cseq int) string {
		if toTag != "" {
			toTag = ";tag=" + toTag
		}
		return fmt.Sprintf("%s %s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:20001@127.0.0.1>;tag=c1\r\n"+
			"To: <sip:20002@127.0.0.1>%s\r\n"+
			"Call-ID: sl-ack@%s\r\n"+
			"CSeq: %d %s\r\n", method, ruri, local, branch, toTag, local, cseq, method)
	}
	// barrier: an OPTIONS answered, and its handler run, after what was sent before it.
	barrier := func(branch string) {
		t.Helper()
		before := options.Load()
		send(head("OPTIONS", branch, "", 9) + "Content-Length: 0\r\n\r\n")
		if res := read(); !bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
			t.Fatalf("OPTIONS: want 200, got %q", res)
		}
		for options.Load() == before {
			time.Sleep(time.Millisecond)
		}
	}

	send(head("INVITE", "inv", "", 1) + "Contact: <sip:20001@" + local + ">\r\nContent-Length: 0\r\n\r\n")
	res := read()
	if !bytes.HasPrefix(res, []byte("SIP/2.0 407 ")) {
		t.Fatalf("want 407, got %q", res)
	}
	m := regexp.MustCompile(`(?m)^To: .*;tag=([^;\r\n]+)`).FindSubmatch(res)
	if m == nil || !bytes.HasPrefix(m[1], []byte(wire.StatelessTagPrefix)) {
		t.Fatalf("407's To tag not a stateless one: %q", res)
	}
	send(head("ACK", "inv", string(m[1]), 1) + "Content-Length: 0\r\n\r\n")
	barrier("o1")
	// sipgo hands an ACK to its handler on a goroutine of its own, which
	// the OPTIONS may overtake: a stray ACK shows within this wait.
	time.Sleep(200 * time.Millisecond)
	if n := acks.Load(); n != 0 {
		t.Fatalf("the stateless 407's ACK reached the ACK handler (%d)", n)
	}

	// An ACK with a dialog's tag (no call has it) still goes to the handler.
	send(head("ACK", "other", "Dlg1", 1) + "Content-Length: 0\r\n\r\n")
	for acks.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
}
