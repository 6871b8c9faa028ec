package sip

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// strangerIP is the third party of the attack tests: another loopback
// address, which Linux routes to lo like 127.0.0.1.
const strangerIP = "127.0.0.66"

// stranger is a UDP socket on another loopback address that sends raw SIP
// and reads the final answers.
type stranger struct {
	t    testing.TB
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newStranger(t testing.TB, ip, server string) *stranger {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("socket on %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &stranger{t: t, conn: conn, to: to}
}

func (s *stranger) addr() string { return s.conn.LocalAddr().String() }

// send sends raw as one datagram.
func (s *stranger) send(raw string) {
	s.t.Helper()
	if _, err := s.conn.WriteToUDP([]byte(raw), s.to); err != nil {
		s.t.Fatal(err)
	}
}

// exchange sends raw and returns the first final response.
func (s *stranger) exchange(raw string) *sip.Response {
	s.t.Helper()
	s.send(raw)
	buf := make([]byte, 65535)
	for {
		s.conn.SetReadDeadline(time.Now().Add(waitLimit))
		n, err := s.conn.Read(buf)
		if err != nil {
			s.t.Fatalf("no answer from the server: %v", err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			s.t.Fatalf("answer: %v", err)
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
	}
}

// dialogOf is what an in-dialog request of one side of a call carries.
type dialogOf struct {
	callID, fromTag, toTag string
	from, to               string // user parts
}

func callerDialog(s *sipgo.DialogClientSession) dialogOf {
	return dialogOf{callID: s.InviteRequest.CallID().Value(), fromTag: wire.Tag(s.InviteRequest.From().Params),
		toTag: wire.Tag(s.InviteResponse.To().Params), from: s.InviteRequest.From().Address.User,
		to: s.InviteRequest.To().Address.User}
}

func calleeDialog(s *sipgo.DialogServerSession) dialogOf {
	// The callee's requests carry its own tag in From.
	return dialogOf{callID: s.InviteRequest.CallID().Value(), fromTag: wire.Tag(s.InviteResponse.To().Params),
		toTag: wire.Tag(s.InviteRequest.From().Params), from: s.InviteRequest.To().Address.User,
		to: s.InviteRequest.From().Address.User}
}

// request is a raw in-dialog request of d, sent from src.
func (d dialogOf) request(method, src, realm, body string, cseq int) string {
	ct := ""
	if body != "" {
		ct = "Content-Type: application/sdp\r\n"
	}
	extra := ""
	switch method {
	case "REFER":
		extra = "Refer-To: <sip:10009@" + realm + ">\r\n"
	case "INVITE":
		extra = "Contact: <sip:" + d.from + "@" + src + ">\r\n"
	}
	return fmt.Sprintf("%s sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n"+
		"From: <sip:%s@%s>;tag=%s\r\n"+
		"To: <sip:%s@%s>;tag=%s\r\n"+
		"Call-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n%s%s"+
		"Content-Length: %d\r\n\r\n%s",
		method, d.to, realm, src, sip.GenerateTagN(12), d.from, realm, d.fromTag, d.to, realm, d.toTag,
		d.callID, cseq, method, extra, ct, len(body), body)
}

// TestForgedInDialogRequests: a third source that knows a call's Call-ID,
// with made-up tags or with the right ones, can neither end it, nor hold
// it, nor transfer it, on either leg; the parties' own requests still
// work afterwards.
func TestForgedInDialogRequests(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, pb.incoming, "answered call")
	realm := cs.realm()
	evil := newStranger(t, strangerIP, cs.udp)
	hold := fmt.Sprintf("v=0\r\no=- 1 2 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio 40000 RTP/AVP 0\r\na=sendonly\r\n", strangerIP, strangerIP)

	legA, legB := callerDialog(sess), calleeDialog(dlgB)
	wrongTags := legA
	wrongTags.fromTag, wrongTags.toTag = "made-up-1", "made-up-2"
	cseq := 100
	for _, tc := range []struct {
		name string
		d    dialogOf
	}{
		{"caller's Call-ID, made-up tags", wrongTags},
		{"caller's dialog, right tags", legA},
		{"callee's dialog, right tags", legB},
	} {
		for _, m := range []string{"BYE", "INVITE", "REFER", "INFO"} {
			body := ""
			if m == "INVITE" {
				body = hold
			}
			cseq++
			if res := evil.exchange(tc.d.request(m, evil.addr(), realm, body, cseq)); res.StatusCode != 481 {
				t.Errorf("%s: %s from a stranger: %d %s, want 481", tc.name, m, res.StatusCode, res.Reason)
			}
		}
	}
	select {
	case <-pa.ended:
		t.Fatal("the caller got a BYE")
	case <-pb.ended:
		t.Fatal("the callee got a BYE")
	case req := <-pb.reinvite:
		t.Fatalf("the callee got a re-INVITE: %s", req.StartLine())
	default:
	}
	// The call is untouched: audio both ways, one call, no transfer.
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	if n := len(cs.ActiveCalls()); n != 1 {
		t.Errorf("active calls: %d, want 1", n)
	}
	// The callee's own re-INVITE (hold) and the caller's BYE work.
	if got := calleeSide(pb, dlgB).reinvite(t, pb, "sendonly", func(r *sip.Request) error { return dlgB.WriteRequest(r) }); got != 200 {
		t.Errorf("callee's own re-INVITE: %d, want 200", got)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("caller's own BYE: %v", err)
	}
	wait(t, pb.ended, "BYE at the callee")
	if row := cs.nextCDR(t); row.HangupBy != "caller" {
		t.Errorf("row: %+v, want hung up by the caller", row)
	}
	cs.noCallLeft(t)
}

// TestInDialogAfterNATRebinding: a phone whose NAT mapping changed
// registers again from its new address; its BYE from there ends the call,
// while the stranger's still gets 481.
func TestInDialogAfterNATRebinding(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	realm := cs.realm()
	legA := callerDialog(sess)

	evil := newStranger(t, strangerIP, cs.udp)
	if res := evil.exchange(legA.request("BYE", evil.addr(), realm, "", 50)); res.StatusCode != 481 {
		t.Fatalf("stranger's BYE: %d, want 481", res.StatusCode)
	}
	// The caller's phone now appears from 127.0.0.2 and registers there.
	moved := newPhone(t, cs.testServer, "10001", testPassword, from("127.0.0.2"))
	wantStatus(t, moved.register(300), 200)
	rebound := newStranger(t, "127.0.0.2", cs.udp)
	if res := rebound.exchange(legA.request("BYE", rebound.addr(), realm, "", 51)); res.StatusCode != 200 {
		t.Fatalf("BYE from the phone's new address: %d %s, want 200", res.StatusCode, res.Reason)
	}
	wait(t, pb.ended, "BYE at the callee")
	if row := cs.nextCDR(t); row.HangupBy != "caller" {
		t.Errorf("row: %+v, want hung up by the caller", row)
	}
	cs.noCallLeft(t)
}

// TestForgedCancel: a stranger who saw the caller's INVITE (branch and
// all) sends CANCEL from elsewhere: the call keeps ringing; the caller's
// own CANCEL ends it.
func TestForgedCancel(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)

	host, port, _ := net.SplitHostPort(cs.udp)
	uri := sip.Uri{Scheme: "sip", User: "10002", Host: host, Port: atoiPort(port)}
	fromH := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "10001", Host: cs.realm()},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}}
	sess, err := pa.dcc.Invite(t.Context(), uri, pa.offer("sendrecv"), fromH,
		sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	ringing := make(chan *sip.Request, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	answered := make(chan error, 1)
	go func() {
		answered <- sess.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "10001", Password: testPassword,
			OnResponse: func(r *sip.Response) error {
				if r.StatusCode == 180 {
					select {
					case ringing <- sess.InviteRequest.Clone():
					default:
					}
				}
				return nil
			}})
	}()
	inv := wait(t, ringing, "ringing")
	wait(t, pb.invites, "INVITE at the callee")

	// The stranger's CANCEL: the INVITE's Via (branch and sent-by), Call-ID,
	// From, To and CSeq number, from another address.
	raw := fmt.Sprintf("CANCEL %s SIP/2.0\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\n"+
		"CSeq: %d CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		inv.Recipient.String(), inv.Via().Value(), inv.From().Value(), inv.To().Value(),
		inv.CallID().Value(), inv.CSeq().SeqNo)
	evil := newStranger(t, strangerIP, cs.udp)
	evil.send(raw)
	select {
	case r := <-cs.dropped:
		if r != "cancel from a stranger" {
			t.Fatalf("dropped: %q", r)
		}
	case <-pb.cancels:
		t.Fatal("the callee's ringing was cancelled by the stranger")
	case <-time.After(waitLimit):
		t.Fatal("the stranger's CANCEL was not dropped")
	}
	select {
	case <-pb.cancels:
		t.Fatal("the callee's ringing was cancelled by the stranger")
	case err := <-answered:
		t.Fatalf("the caller's INVITE ended: %v", err)
	default:
	}
	if n := len(cs.ActiveCalls()); n != 1 {
		t.Fatalf("active calls: %d, want the ringing one", n)
	}
	cancel() // the caller's own CANCEL
	wait(t, pb.cancels, "CANCEL at the callee")
	<-answered
	if row := cs.nextCDR(t); row.Disposition != "cancelled" {
		t.Errorf("row: %+v, want cancelled", row)
	}
	cs.noCallLeft(t)
}
