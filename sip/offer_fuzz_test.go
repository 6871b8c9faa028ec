package sip

import (
	"strings"
	"testing"
)

// FuzzOutboundTrunks: the trunks a number goes to serve it, longest
// matching prefix first, then those without prefixes.
func FuzzOutboundTrunks(f *testing.F) {
	f.Add("+842438123456", "+84", "+8424,+48", "")
	f.Add("+48221234567", "+4", "+48", "+")
	f.Add("", "", ",", "+1")
	f.Fuzz(func(t *testing.T, num, p1, p2, p3 string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		tt := &trunkTable{trunks: []*Trunk{{Name: "a", Prefixes: split(p1)}, {Name: "b", Prefixes: split(p2)},
			{Name: "c", Prefixes: split(p3)}}}
		last := 1 << 30
		for _, tr := range tt.outbound(num) {
			match := 0
			for _, p := range tr.Prefixes {
				if strings.HasPrefix(num, p) && len(p) > match {
					match = len(p)
				}
			}
			if len(tr.Prefixes) > 0 && match == 0 || match > last {
				t.Fatalf("number %q: trunk %s (prefixes %q) out of place", num, tr.Name, tr.Prefixes)
			}
			last = match
		}
	})
}

// phoneOffer is a phone's offer: PCMU, PCMA, events, a=rtcp and a video line.
const phoneOffer = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.168.1.50\r\ns=-\r\n" +
	"c=IN IP4 192.168.1.50\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=rtcp:49171\r\n" +
	"a=sendrecv\r\nm=video 51372 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
