package wire

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// replyRequests are requests whose replies are written both ways.
var replyRequests = []string{
	// rport asked: received and rport filled in.
	"REGISTER sip:pbx.test SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK-1;rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: \"Alice A\" <sip:201@pbx.test>;tag=a1\r\n" +
		"To: <sip:201@pbx.test>\r\n" +
		"Call-ID: c1@10.0.0.5\r\n" +
		"CSeq: 7 REGISTER\r\n" +
		"Contact: <sip:201@10.0.0.5:5062;transport=udp>;expires=60\r\n" +
		"Content-Length: 0\r\n\r\n",
	// No rport, no port; a To tag; several Vias, in one header and two.
	"REGISTER sip:pbx.test SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP proxy.test;branch=z9hG4bK-2;received=192.0.2.1, SIP/2.0/UDP 10.0.0.6:5060;branch=z9hG4bK-x\r\n" +
		"v: SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK-y;maddr=\"a b\"\r\n" +
		"From: <sip:202@pbx.test>;tag=b2\r\n" +
		"To: \"Bob\" <sip:202@pbx.test>;tag=ours\r\n" +
		"i: c2@10.0.0.6\r\n" +
		"CSeq: 8 REGISTER\r\n" +
		"Content-Length: 0\r\n\r\n",
	// rport with a value stays; received already there is replaced.
	"INVITE sip:203@pbx.test SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP [2001:db8::7];received=1.2.3.4;rport;branch=z9hG4bK-3\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.8:5060;rport=5999;branch=z9hG4bK-4\r\n" +
		"From: sip:204@pbx.test;tag=c3\r\n" +
		"To: sip:203@pbx.test;user=phone\r\n" +
		"Call-ID: c3\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n",
}

// TestReplyAsSipgo: a reply written as bytes is the response sipgo's
// NewResponseFromRequest makes, the To tag aside.
func TestReplyAsSipgo(t *testing.T) {
	for _, src := range []string{"198.51.100.9:40000", "[2001:db8::9]:40001"} {
		for _, raw := range replyRequests {
			msg, err := sip.NewParser().ParseSIP([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			req := msg.(*sip.Request)
			req.SetSource(src)
			for _, code := range []int{100, 180, 200, 401} {
				rep := NewReply(req, code, "Some Reason", "switchboard").
					Add("WWW-Authenticate", `Digest realm="pbx.test", nonce="n1", algorithm=MD5, qop="auth"`).
					Add("Contact", "<sip:201@10.0.0.5:5062>;expires=60")
				if !checkReplyAsSipgo(t, rep) {
					t.Fatalf("sipgo's own response to %q does not parse", raw)
				}
			}
		}
	}
}

// checkReplyAsSipgo checks rep.Encode against rep.Response(): when
// sipgo's own response parses back, ours parses too, and both are the same
// message once the To tags are made equal. It reports false when there was
// nothing to compare: sipgo's own response does not parse back, or the
// request has another SIP version than SIP/2.0 (sipgo copies it, we do not:
// the edge passes only SIP/2.0 requests, but sipgo may read a version out
// of a request line the edge reads otherwise, with LF line ends).
func checkReplyAsSipgo(t *testing.T, rep *Reply) bool {
	t.Helper()
	var buf bytes.Buffer
	rep.Encode(&buf)
	want, err := sip.NewParser().ParseSIP([]byte(rep.Response().String()))
	if err != nil || rep.req.SipVersion != "SIP/2.0" {
		return false
	}
	got, err := sip.NewParser().ParseSIP(buf.Bytes())
	if err != nil {
		t.Fatalf("ours does not parse: %v\n%s", err, buf.Bytes())
	}
	g, ok := got.(*sip.Response)
	if !ok || g.StatusCode != rep.code {
		t.Fatalf("ours is not the response:\n%s", buf.Bytes())
	}
	w := want.(*sip.Response)
	if (g.To() == nil) != (w.To() == nil) {
		t.Fatalf("To: ours %v, sipgo's %v", g.To(), w.To())
	}
	if g.To() != nil && g.StatusCode != 100 {
		if toTag(g) == "" {
			t.Fatalf("ours has no To tag:\n%s", buf.Bytes())
		}
		w.To().Params.Add("tag", toTag(g))
	}
	if g.String() != w.String() {
		t.Fatalf("ours:\n%s\nsipgo's:\n%s", g.String(), w.String())
	}
	return true
}

// FuzzReply: no request sipgo parses makes the reply writer panic; the
// reply written as bytes parses as that response, and is sipgo's own
// response to the request whenever sipgo's own parses back. The seeds are
// the requests above and the RFC 4475 torture messages.
func FuzzReply(f *testing.F) {
	for _, raw := range replyRequests {
		f.Add([]byte(raw))
	}
	files, _ := filepath.Glob("../testdata/torture/*.dat")
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	parser := sip.NewParser()
	parser.MaxMessageLength = 16 << 10
	from := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 5062}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8<<10 {
			return
		}
		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.Via() == nil {
			return
		}
		// As the server has it over UDP: rport asked for in the top Via.
		if via := req.Via(); !via.Params.Has("rport") {
			via.Params.Add("rport", "")
		}
		req.SetSource(from.String())
		rep := NewReply(req, 200, "OK", "switchboard").Add("Date", "Sun, 06 Dec 2026 15:00:00 UTC")
		checkReplyAsSipgo(t, rep)
	})
}

// toTag is the tag of res's To header, "" when it has none.
func toTag(res *sip.Response) string {
	v, _ := res.To().Params.Get("tag")
	return v
}
