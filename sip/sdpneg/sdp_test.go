package sdpneg

import (
	"net/netip"
	"strings"
	"testing"
)

const phoneOffer = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.168.1.50\r\ns=-\r\n" +
	"c=IN IP4 192.168.1.50\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=rtcp:49171\r\n" +
	"a=sendrecv\r\nm=video 51372 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"

func TestRewriteSDP(t *testing.T) {
	sd, m, err := Parse([]byte(phoneOffer))
	if err != nil {
		t.Fatal(err)
	}
	if m.RTP != netip.MustParseAddrPort("192.168.1.50:49170") || m.RTCP != netip.MustParseAddrPort("192.168.1.50:49171") || m.Hold {
		t.Fatalf("media: %+v", m)
	}
	o := Origin{ID: 42}
	out, err := Rewrite(sd, &o, netip.MustParseAddr("203.0.113.5"), 20000)
	if err != nil {
		t.Fatal(err)
	}
	want := "v=0\r\no=switchboard 42 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\n" +
		"m=audio 20000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n" +
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
	if string(out) != want {
		t.Errorf("rewritten:\n%s\nwant:\n%s", out, want)
	}
}

func TestParseSDPHold(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		hold       bool
	}{
		{"sendonly", strings.Replace(phoneOffer, "a=sendrecv", "a=sendonly", 1), true},
		{"inactive", strings.Replace(phoneOffer, "a=sendrecv", "a=inactive", 1), true},
		{"c=0.0.0.0 (RFC 2543 hold)", strings.Replace(phoneOffer, "c=IN IP4 192.168.1.50", "c=IN IP4 0.0.0.0", 1), true},
		{"no final CRLF", strings.TrimSuffix(phoneOffer, "\r\n"), false},
	} {
		_, m, err := Parse([]byte(tc.body))
		if err != nil || m.Hold != tc.hold {
			t.Errorf("%s: hold %v, err %v; want hold %v", tc.name, m.Hold, err, tc.hold)
		}
	}
	for _, bad := range []string{"", "v=0\r\n", "garbage", strings.Replace(phoneOffer, "m=audio", "m=text", 1)} {
		if _, _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzRewriteSDP: whatever a phone sends, parsing and rewriting return an
// error or an SDP that parses again; they never panic.
func FuzzRewriteSDP(f *testing.F) {
	f.Add([]byte(phoneOffer))
	f.Add([]byte("v=0\r\no=- 0 0 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"))
	f.Add([]byte("v=0\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 host.example\r\na=rtcp:x\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		sd, _, err := Parse(body)
		if err != nil {
			return
		}
		o := Origin{ID: 1}
		out, err := Rewrite(sd, &o, netip.MustParseAddr("192.0.2.1"), 30000)
		if err != nil {
			return
		}
		if _, m, err := Parse(out); err != nil || m.RTP.Port() != 30000 && !m.Hold {
			t.Fatalf("rewritten SDP does not parse back (%v, %+v):\n%s", err, m, out)
		}
	})
}
