package wire

import (
	"fmt"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// BenchmarkServerInvite: one INVITE server transaction over UDP answered
// 180 then 200 by a handler on a goroutine of its own, as a call's caller
// is: ours (Transactions.ServeInvite) against sipgo's ServerTx as its
// transaction layer serves it (its goroutine, Init's Timer_1xx, the state
// machine; Timer L, which sipgo keeps for 32 s after the 2xx and whose
// firing starts one goroutine more, is stopped here by Terminate). Both
// parse the datagram once, as the edge or sipgo does, and write to a
// socket that discards.
func BenchmarkServerInvite(b *testing.B) {
	src := netip.MustParseAddrPort("127.0.0.1:5090")
	invite := func(i int) *sip.Request {
		raw := fmt.Sprintf("INVITE sip:200@127.0.0.1:5060 SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-bench-%d;rport\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:100@pbx>;tag=f1\r\nTo: <sip:200@pbx>\r\n"+
			"Call-ID: bench-%d\r\nCSeq: 1 INVITE\r\nContact: <sip:100@127.0.0.1:5090>\r\n"+
			"Content-Length: 0\r\n\r\n", i, i)
		m, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			b.Fatal(err)
		}
		return m.(*sip.Request)
	}
	answer := func(req *sip.Request, tx sip.ServerTransaction) {
		ring := sip.NewResponseFromRequest(req, 180, "Ringing", nil)
		ring.To().Params.Add("tag", "t1")
		tx.Respond(ring)
		ok := sip.NewResponseFromRequest(req, 200, "OK", nil)
		ok.To().Params.Add("tag", "t1")
		tx.Respond(ok)
	}
	b.Run("own", func(b *testing.B) {
		done := make(chan struct{}, 1)
		txs := NewTransactions(clock.Real{}, nil)
		txs.ServeInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			answer(req, tx)
			done <- struct{}{}
		})
		sink := &sinkConn{}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			txs.Serve(sink, src, invite(i))
			<-done
		}
	})
	b.Run("sipgo", func(b *testing.B) {
		done := make(chan struct{}, 1)
		conn := &sinkConnection{}
		log := slog.New(slog.DiscardHandler)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req := invite(i)
			req.SetSource(src.String())
			req.SetTransport("UDP")
			key, err := sip.ServerTxKeyMake(req)
			if err != nil {
				b.Fatal(err)
			}
			tx := sip.NewServerTx(key, req, conn, log)
			if err := tx.Init(); err != nil {
				b.Fatal(err)
			}
			go func() {
				answer(req, tx)
				tx.TerminateGracefully()
				done <- struct{}{}
			}()
			<-done
			tx.Terminate()
		}
	})
}
