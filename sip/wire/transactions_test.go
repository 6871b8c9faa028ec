package wire

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// TestRegTxsBound: the table holds at most two generations of
// regTxGeneration transactions, and answers none older than three times
// Timer J.
func TestRegTxsBound(t *testing.T) {
	clk := clock.NewManual()
	txs := NewTransactions(clk, nil)
	src := netip.MustParseAddrPort("192.0.2.1:5060")
	sink := &sinkConn{}
	key := func(i int) regTxKey { return regTxKey{"z9hG4bK-" + strconv.Itoa(i), src, sip.REGISTER} }
	for i := range 3 * regTxGeneration {
		tx := txs.start(key(i), sink, src)
		if tx == nil {
			t.Fatalf("transaction %d taken for a retransmission", i)
		}
		tx.write([]byte("SIP/2.0 200 OK\r\n\r\n"), true)
		if n := len(txs.cur) + len(txs.old); n > 2*regTxGeneration {
			t.Fatalf("%d transactions held", n)
		}
	}
	if txs.start(key(3*regTxGeneration-1), sink, src) != nil {
		t.Fatal("the last transaction forgotten")
	}
	sent := sink.n
	tx := txs.start(key(0), sink, src)
	if tx == nil || sink.n != sent {
		t.Fatal("the first transaction still held after 3 generations")
	}
	tx.write([]byte("SIP/2.0 200 OK\r\n\r\n"), true)
	clk.Advance(TimerJ())
	if txs.start(key(0), sink, src) != nil || sink.n != sent+2 {
		t.Fatal("a transaction Timer J old not answered again")
	}
	clk.Advance(2 * TimerJ())
	if txs.start(key(0), sink, src) == nil {
		t.Fatal("a transaction three times Timer J old still answered")
	}
}

// sinkConn is a PacketConn that counts the datagrams written.
type sinkConn struct {
	net.PacketConn
	n int
}

func (c *sinkConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	c.n++
	return len(p), nil
}

// TestTransactionsServeBye: BYEs are served only once ServeBye gave their
// handler; a retransmitted BYE gets the kept final response without a
// second run of it; a REGISTER with the same branch is another
// transaction.
func TestTransactionsServeBye(t *testing.T) {
	clk := clock.NewManual()
	var registers, byes int
	txs := NewTransactions(clk, func(_ *sip.Request, tx sip.ServerTransaction) {
		registers++
		tx.Respond(&sip.Response{StatusCode: 200, Reason: "OK"})
	})
	src := netip.MustParseAddrPort("192.0.2.1:5060")
	sink := &sinkConn{}
	msg := func(method string) *sip.Request {
		raw := method + " sip:20002@192.0.2.9 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-same\r\n" +
			"From: <sip:20001@192.0.2.9>;tag=a\r\nTo: <sip:20002@192.0.2.9>;tag=b\r\n" +
			"Call-ID: bye@192.0.2.1\r\nCSeq: 2 " + method + "\r\nContent-Length: 0\r\n\r\n"
		m, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return m.(*sip.Request)
	}
	if txs.ServesBye() || txs.Serve(sink, src, msg("BYE")) {
		t.Fatal("a BYE served before ServeBye")
	}
	txs.ServeBye(func(req *sip.Request, tx sip.ServerTransaction) {
		byes++
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	for range 2 {
		if !txs.Serve(sink, src, msg("BYE")) {
			t.Fatal("BYE not served")
		}
	}
	if byes != 1 || sink.n != 2 {
		t.Fatalf("BYE and its retransmission: handled %d times, %d answers sent; want 1 and 2", byes, sink.n)
	}
	if !txs.Serve(sink, src, msg("REGISTER")) || registers != 1 || sink.n != 3 {
		t.Fatalf("REGISTER with the BYE's branch: handled %d, %d answers sent", registers, sink.n)
	}
	if txs.Serve(sink, src, msg("INFO")) {
		t.Fatal("an INFO served")
	}
}
