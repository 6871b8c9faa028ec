package leg

import (
	"net/netip"
	"testing"

	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// FuzzRefusingAnswer: whatever offer a callee sends in its 2xx, the
// answer that refuses it parses back with no audio address.
func FuzzRefusingAnswer(f *testing.F) {
	f.Add([]byte(phoneOffer))
	f.Add([]byte("v=0\r\no=- 0 0 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\n"))
	f.Add([]byte("v=0\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 host.example\r\na=rtcp:x\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, _, err := sdpneg.Parse(body); err != nil {
			return
		}
		br := &Bridge{mediaIP: func(string) netip.Addr { return netip.MustParseAddr("192.0.2.1") }}
		out := br.RefusingAnswer(body)
		if out == nil {
			return
		}
		sd, m, err := sdpneg.Parse(out)
		if err != nil || m.RTP.IsValid() || !m.Hold {
			t.Fatalf("refusing answer %q: %v %+v", out, err, m)
		}
		for _, md := range sd.MediaDescriptions {
			if md.MediaName.Port.Value != 0 {
				t.Fatalf("refusing answer keeps a port: %q", out)
			}
		}
	})
}

// phoneOffer is a phone's offer: PCMU, PCMA, events, a=rtcp and a video line.
const phoneOffer = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.168.1.50\r\ns=-\r\n" +
	"c=IN IP4 192.168.1.50\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=rtcp:49171\r\n" +
	"a=sendrecv\r\nm=video 51372 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
