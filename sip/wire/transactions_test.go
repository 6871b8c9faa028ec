package wire

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

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
	key := func(i int) regTxKey { return regTxKey{"z9hG4bK-" + strconv.Itoa(i), src} }
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
