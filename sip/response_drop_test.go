package sip

import (
	"testing"
)

// A response over UDP that sipgo cannot parse is counted as dropped
// (malformed), as a request is: the edge passes responses on unparsed,
// and the count comes from sipgo's own record of the failure.
func TestUnparsableResponseCountedAsDropped(t *testing.T) {
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil)
	// wire.Split takes it (every line has a colon, the header ends), but
	// sipgo cannot read the CSeq.
	rawSend(t, ts.udp, "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKx\r\n"+
		"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: many INVITE\r\nContent-Length: 0\r\n\r\n")
	// The server reads its socket in order: once an OPTIONS sent after it
	// is answered, the response has been read.
	res := rawExchange(t, ts.udp, "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKopt;rport\r\n"+
		"From: <sip:a@b>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: opt\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	wantStatus(t, res, 200)
	ts.counters.Mu.Lock()
	got := ts.counters.Dropped["malformed"]
	ts.counters.Mu.Unlock()
	if got != 1 {
		t.Errorf("malformed drops %d, want 1", got)
	}
}
