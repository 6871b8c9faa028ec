package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/switchboard-pbx/switchboard/sip/call"
)

// TestOwnClientTransactions: a call to a phone over UDP goes out on the
// server's own client transactions (wire.Clients), as do its BYE: the
// phone, a bare socket, answers 180 and 200, gets the ACK, sends the 200
// again as if the ACK were lost and gets the ACK again (RFC 6026 §7.2),
// and answers the BYE. Both transactions are the table's, matched by the
// branch the phone saw; without them sipgo's would serve the call and the
// table would know neither.
func TestOwnClientTransactions(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, call.Config{})
	caller := newCallPhone(t, cs, "10001", answerOK)
	callee := newUDPPeer(t, net.IPv4(127, 0, 0, 1), cs.udp)
	callee.register(cs.testServer, "10002")
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type dialResult struct {
		sess *sipgo.DialogClientSession
		err  error
	}
	dialed := make(chan dialResult, 1)
	go func() {
		sess, err := caller.dial(ctx, "10002")
		dialed <- dialResult{sess, err}
	}()

	invite := callee.read()
	if !bytes.HasPrefix(invite, []byte("INVITE ")) {
		t.Fatalf("want an INVITE, got %q", invite)
	}
	branch := header(t, invite, `(?m)^Via: [^\r\n]*;branch=([^;,\r\n]+)`)
	if cs.clients.Match(branch, "INVITE") == nil {
		t.Fatal("the INVITE is not the server's own client transaction")
	}
	answer := func(code int, reason, extra string, body string) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
		for _, h := range []string{"Via", "From", "Call-ID", "CSeq"} {
			b.WriteString(h + ": " + header(t, invite, `(?m)^`+h+`: ([^\r\n]+)`) + "\r\n")
		}
		b.WriteString("To: " + header(t, invite, `(?m)^To: ([^\r\n]+)`) + ";tag=callee1\r\n")
		b.WriteString("Contact: <sip:10002@" + callee.local() + ">\r\n" + extra)
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		return b.Bytes()
	}
	callee.send(answer(180, "Ringing", "", ""))
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", rtp.LocalAddr().(*net.UDPAddr).Port)
	ok := answer(200, "OK", "Content-Type: application/sdp\r\n", sdp)
	callee.send(ok)
	ack := callee.read()
	if !bytes.HasPrefix(ack, []byte("ACK ")) {
		t.Fatalf("want the ACK, got %q", ack)
	}
	callee.send(ok) // the ACK was lost
	if again := callee.read(); !bytes.HasPrefix(again, []byte("ACK ")) {
		t.Fatalf("the 2xx sent again: want the ACK again, got %q", again)
	}

	d := <-dialed
	if d.err != nil {
		t.Fatalf("dial: %v", d.err)
	}
	defer d.sess.Close()
	byeDone := make(chan error, 1)
	go func() { byeDone <- d.sess.Bye(ctx) }() // the caller hangs up
	bye := callee.read()
	if !bytes.HasPrefix(bye, []byte("BYE ")) {
		t.Fatalf("want a BYE, got %q", bye)
	}
	byeBranch := header(t, bye, `(?m)^Via: [^\r\n]*;branch=([^;,\r\n]+)`)
	if cs.clients.Match(byeBranch, "BYE") == nil {
		t.Fatal("the BYE is not the server's own client transaction")
	}
	var b bytes.Buffer
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		b.WriteString(h + ": " + header(t, bye, `(?m)^`+h+`: ([^\r\n]+)`) + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	callee.send(b.Bytes())
	if err := <-byeDone; err != nil {
		t.Fatalf("bye: %v", err)
	}
	cdr := cs.nextCDR(t)
	if cdr.Disposition != "answered" {
		t.Fatalf("call ended %q", cdr.Disposition)
	}
	cs.noCallLeft(t)
	if n := cs.clients.Live(); n != 0 {
		t.Fatalf("%d client transactions still waiting", n)
	}
}

// header returns the first group re finds in msg, failing the test when
// it finds none.
func header(t testing.TB, msg []byte, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindSubmatch(msg)
	if m == nil {
		t.Fatalf("%s not in %q", re, msg)
	}
	return string(m[1])
}
