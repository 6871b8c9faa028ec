package sip

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sync"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestInviteOverUDP: an INVITE over UDP is served at the edge
// (wire.InviteTx). Its retransmission while the call rings gets the 180
// again and starts no second call; a CANCEL over UDP ends the ringing
// call: the CANCEL gets 200 and the INVITE 487, both with the To tag of
// the 180 (RFC 3261 §8.2.6.2, §9.2: sipgo's 487 has a tag of its own), the
// callee stops ringing, and the 487's ACK is absorbed: no handler sees the
// CANCEL or that ACK.
func TestInviteOverUDP(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "20001")
	addUser(t, st, "20002")
	var mu sync.Mutex
	handled := map[string]int{}
	cs := startCallServerHooked(t, st, CallConfig{}, func(s *Server) {
		s.hooks.handled = func(_ netip.Addr, method string) {
			mu.Lock()
			handled[method]++
			mu.Unlock()
		}
	})
	callee := newCallPhone(t, cs, "20002", answerRing)
	caller := newUDPPeer(t, net.IPv4(127, 0, 0, 1), cs.udp)
	local, ruri := caller.local(), "sip:20002@"+cs.udp
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
	msg := func(method, branch string, cseq int, toTag, extra, body string) []byte {
		if toTag != "" {
			toTag = ";tag=" + toTag
		}
		return fmt.Appendf(nil, "%s %s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:20001@127.0.0.1>;tag=c1\r\n"+
			"To: <sip:20002@127.0.0.1>%s\r\n"+
			"Call-ID: inv-udp@%s\r\n"+
			"CSeq: %d %s\r\n"+
			"Contact: <sip:20001@%s>\r\n%s"+
			"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			method, ruri, local, branch, toTag, local, cseq, method, local, extra, len(body), body)
	}
	tagOf := func(res []byte) string {
		m := regexp.MustCompile(`(?m)^To: .*;tag=([^;\r\n]+)`).FindSubmatch(res)
		if m == nil {
			t.Fatalf("no To tag in %q", res)
		}
		return string(m[1])
	}
	// next reads the next response but a 100 Trying.
	next := func() []byte {
		t.Helper()
		for {
			if res := caller.read(); !bytes.HasPrefix(res, []byte("SIP/2.0 100 ")) {
				return res
			}
		}
	}
	want := func(res []byte, status, cseq string) {
		t.Helper()
		if !bytes.HasPrefix(res, []byte("SIP/2.0 "+status)) || !bytes.Contains(res, []byte("\r\nCSeq: "+cseq+"\r\n")) {
			t.Fatalf("want %s to %s, got %q", status, cseq, res)
		}
	}

	res := caller.exchange(msg("INVITE", "a", 1, "", "", sdp))
	want(res, "407 ", "1 INVITE")
	caller.send(msg("ACK", "a", 1, tagOf(res), "", ""))
	auth := digestAnswer(t, res, "Proxy-Authorization", "20001", cs.realm(), "INVITE", ruri)

	invite := msg("INVITE", "b", 2, "", auth, sdp)
	caller.send(invite)
	ringing := next()
	want(ringing, "180 ", "2 INVITE")
	tag := tagOf(ringing)
	wait(t, callee.invites, "the INVITE at the callee")
	caller.send(invite)
	want(next(), "180 ", "2 INVITE")
	if n := cs.b.Active(); n != 1 {
		t.Fatalf("%d calls after a retransmitted INVITE, want 1", n)
	}

	cancel := msg("CANCEL", "b", 2, "", "", "")
	caller.send(cancel)
	ok, terminated := next(), next()
	want(ok, "200 ", "2 CANCEL")
	want(terminated, "487 ", "2 INVITE")
	if tagOf(ok) != tag || tagOf(terminated) != tag {
		t.Errorf("To tags: 180 %s, 200 to the CANCEL %s, 487 %s; want them all the same", tag, tagOf(ok), tagOf(terminated))
	}
	caller.send(msg("ACK", "b", 2, tag, "", ""))
	wait(t, callee.cancels, "the callee's ringing cancelled")
	if row := cs.nextCDR(t); row.Disposition != directory.Cancelled || row.HangupBy != "caller" {
		t.Fatalf("call row %+v, want cancelled by the caller", row)
	}
	caller.send(cancel)
	want(next(), "200 ", "2 CANCEL")
	cs.noCallLeft(t)
	if n := len(callee.invites); n != 0 {
		t.Fatalf("the callee got %d INVITEs more", n)
	}
	// OPTIONS, answered after the ACK and the CANCELs were read: its
	// handler ran after theirs would have.
	options := []byte(fmt.Sprintf("OPTIONS %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-o;rport\r\n"+
		"From: <sip:20001@127.0.0.1>;tag=c1\r\nTo: <sip:20002@127.0.0.1>\r\nCall-ID: o@%s\r\nCSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", ruri, local, local))
	want(caller.exchange(options), "200 ", "1 OPTIONS")
	mu.Lock()
	defer mu.Unlock()
	if handled["INVITE"] != 1 || handled["CANCEL"] != 0 || handled["ACK"] != 0 {
		t.Fatalf("handlers ran %v, want INVITE once, no CANCEL or ACK", handled)
	}
}

// TestInviteSipgoFallback: with Config.SipgoInvites and SipgoClients
// (--sip-udp-transactions sipgo), INVITEs over UDP and the requests the
// server sends go through sipgo's transaction layer as before, and calls
// still go through.
func TestInviteSipgoFallback(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{}, func(c *Config) { c.SipgoInvites, c.SipgoClients = true, true })
	if cs.regTxs.ServesInvite() {
		t.Fatal("INVITEs served at the edge with SipgoInvites")
	}
	pa, _ := newCallPhone(t, cs, "10001", answerOK), newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Answered {
		t.Fatalf("call row %+v, want answered", row)
	}
	cs.noCallLeft(t)
	if n := cs.clients.Answered() + cs.clients.Live(); n != 0 {
		t.Fatalf("%d requests went through the server's own client transactions", n)
	}
}
