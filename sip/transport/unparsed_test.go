package transport

import (
	"bytes"
	"net"
	"testing"
)

// The edge parses only the requests it acts on itself (a REGISTER, an
// INVITE without credentials); others go to sipgo unparsed, and one sipgo
// then fails to parse is refused by ParseFailed with the edge's own 400,
// on the listener it came in on.
func TestUnparsedRequests(t *testing.T) {
	const rest = "Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-u-1\r\nMax-Forwards: 70\r\n" +
		"From: <sip:10001@127.0.0.1>;tag=a\r\nTo: <sip:10002@127.0.0.1>\r\nCall-ID: u-1\r\n"
	cases := []struct {
		name, raw string
		parsed    bool
	}{
		{"register", "REGISTER sip:127.0.0.1 SIP/2.0\r\n" + rest + "CSeq: 1 REGISTER\r\nContact: <sip:10001@127.0.0.1:40000>\r\nContent-Length: 0\r\n\r\n", true},
		{"invite without credentials", "INVITE sip:10002@127.0.0.1 SIP/2.0\r\n" + rest + "CSeq: 1 INVITE\r\nContact: <sip:10001@127.0.0.1:40000>\r\nContent-Length: 0\r\n\r\n", true},
		{"invite with credentials", "INVITE sip:10002@127.0.0.1 SIP/2.0\r\n" + rest + "CSeq: 2 INVITE\r\nContact: <sip:10001@127.0.0.1:40000>\r\n" +
			"Proxy-Authorization: Digest username=\"10001\"\r\nContent-Length: 0\r\n\r\n", false},
		{"bye", "BYE sip:10002@127.0.0.1 SIP/2.0\r\n" + rest + "CSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n", false},
	}
	e := benchEdge()
	from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	for _, tc := range cases {
		buf := make([]byte, 4096)
		n := copy(buf, tc.raw)
		n, req, unparsed := e.datagram(&sinkConn{}, buf, n, from)
		if n == 0 || (req != nil) != tc.parsed || (unparsed != nil) == tc.parsed {
			t.Errorf("%s: passed %d octets, parsed %v, unparsed %v; want parsed %v", tc.name, n, req != nil, unparsed != nil, tc.parsed)
		}
	}

	// A BYE sipgo cannot parse (its To is no address) is refused when
	// sipgo says so, once; another datagram is not the edge's.
	sink := &sinkConn{}
	c := e.PacketConn(sink)
	bad := []byte("BYE sip:10002@127.0.0.1 SIP/2.0\r\n" + "Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-u-2\r\n" +
		"From: <sip:10001@127.0.0.1>;tag=a\r\nTo: <sip:10002@127.0.0.1\r\nCall-ID: u-2\r\nCSeq: 4 BYE\r\nContent-Length: 0\r\n\r\n")
	buf := make([]byte, 4096)
	n, req, unparsed := e.datagram(sink, buf, copy(buf, bad), from)
	if n == 0 || req != nil || unparsed == nil {
		t.Fatalf("bad BYE: passed %d octets, parsed %v, unparsed %v", n, req != nil, unparsed != nil)
	}
	c.pending.set(unparsed, n, from)
	if e.ParseFailed("SIP/2.0 200 OK\r\n\r\n") {
		t.Error("a response taken for the pending request")
	}
	if !e.ParseFailed(string(buf[:n])) {
		t.Fatal("the pending request not taken")
	}
	if sink.n != 1 || !bytes.HasPrefix(sink.last, []byte("SIP/2.0 400 ")) {
		t.Errorf("%d answers, the last %q; want a 400", sink.n, sink.last)
	}
	if e.ParseFailed(string(buf[:n])) {
		t.Error("the request refused twice")
	}
}
