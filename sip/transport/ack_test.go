package transport

import (
	"net"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// An ACK goes to the call side when it claims it, by Call-ID, branch and
// CSeq number, parsed with its source and transport as sipgo gives them;
// an ACK it does not claim, and any other request, is left to sipgo.
func TestTakeAck(t *testing.T) {
	type ask struct {
		callID, branch string
		cseq           uint32
	}
	var asked []ask
	var taken []*sip.Request
	e := benchEdge()
	e.parts.TakeAck = func(callID, branch string, cseq uint32) func(*sip.Request) {
		asked = append(asked, ask{callID, branch, cseq})
		if callID != "mine" {
			return nil
		}
		return func(r *sip.Request) { taken = append(taken, r) }
	}
	from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	msg := func(method, callID, via string, cseq string) []byte {
		return []byte(method + " sip:10002@127.0.0.1:5062 SIP/2.0\r\nVia: " + via + "\r\nMax-Forwards: 70\r\n" +
			"From: <sip:10001@127.0.0.1>;tag=a\r\nTo: <sip:10002@127.0.0.1>;tag=b\r\nCall-ID: " + callID + "\r\n" +
			"CSeq: " + cseq + "\r\nContent-Length: 0\r\n\r\n")
	}
	cases := []struct {
		name string
		raw  []byte
		want bool // taken
		ask  *ask
	}{
		{"a call's ack", msg("ACK", "mine", "SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-a-1", "7 ACK"), true,
			&ask{"mine", "z9hG4bK-a-1", 7}},
		{"another's ack", msg("ACK", "other", "SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-a-2", "1 ACK"), false,
			&ask{"other", "z9hG4bK-a-2", 1}},
		{"a bye", msg("BYE", "mine", "SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-a-3", "8 BYE"), false, nil},
	}
	for _, tc := range cases {
		asked, taken = nil, nil
		buf := make([]byte, 4096)
		n, req, unparsed := e.datagram(&sinkConn{}, buf, copy(buf, tc.raw), from)
		if n == 0 || req != nil || unparsed == nil {
			t.Fatalf("%s: passed %d octets, parsed %v, unparsed %v", tc.name, n, req != nil, unparsed != nil)
		}
		if got := e.takeAck(buf[:n], unparsed, from); got != tc.want || (len(taken) == 1) != tc.want {
			t.Errorf("%s: taken %v (%d handed over), want %v", tc.name, got, len(taken), tc.want)
		}
		switch {
		case tc.ask == nil && len(asked) != 0:
			t.Errorf("%s: asked %+v, want no question", tc.name, asked)
		case tc.ask != nil && (len(asked) != 1 || asked[0] != *tc.ask):
			t.Errorf("%s: asked %+v, want %+v", tc.name, asked, *tc.ask)
		}
		if tc.want && len(taken) == 1 {
			r := taken[0]
			if r.Method != sip.ACK || r.CallID().Value() != "mine" || r.Source() != from.String() || r.Transport() != "UDP" {
				t.Errorf("%s: handed %s %q from %q over %q", tc.name, r.Method, r.CallID().Value(), r.Source(), r.Transport())
			}
			if v, _ := r.Via().Params.Get("rport"); !r.Via().Params.Has("rport") || v != "" {
				t.Errorf("%s: top Via %q, want rport added as for sipgo", tc.name, r.Via().Value())
			}
		}
	}

	// An ACK without an RFC 3261 branch is asked about with the synthetic
	// one sipgo would see.
	asked = nil
	buf := make([]byte, 4096)
	n, _, unparsed := e.datagram(&sinkConn{}, buf, copy(buf, msg("ACK", "mine", "SIP/2.0/UDP 127.0.0.1:40000", "7 ACK")), from)
	e.takeAck(buf[:n], unparsed, from)
	if len(asked) != 1 || asked[0].branch != unparsed.syntheticBranch() || asked[0].branch == "" {
		t.Errorf("RFC 2543 ack: asked %+v, want the synthetic branch %q", asked, unparsed.syntheticBranch())
	}
}
