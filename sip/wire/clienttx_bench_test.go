package wire

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// BenchmarkClientInvite: one INVITE client transaction answered 180 then
// 200, as a call's leg to a phone is: ours (wire.Clients, the response
// handed over by the socket's reader) against sipgo's ClientTx (each
// response on a goroutine of its own, as its transaction layer passes it,
// through its state machine to an unbuffered channel), both writing to a
// socket that discards.
func BenchmarkClientInvite(b *testing.B) {
	dest := netip.MustParseAddrPort("127.0.0.1:5090")
	invite := func(i int) *sip.Request {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "200", Host: "127.0.0.1", Port: 5090})
		via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060}
		via.Params.Add("branch", fmt.Sprint("z9hG4bK-bench-", i))
		req.AppendHeader(via)
		req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "100", Host: "pbx"},
			Params: sip.HeaderParams{{K: "tag", V: "f1"}}})
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "200", Host: "pbx"}})
		cid := sip.CallIDHeader(fmt.Sprint("bench-", i))
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
		req.SetBody(make([]byte, 300))
		req.SetTransport("UDP")
		req.SetDestination(dest.String())
		return req
	}
	responses := func(req *sip.Request) (*sip.Response, *sip.Response) {
		ring := sip.NewResponseFromRequest(req, 180, "Ringing", nil)
		ok := sip.NewResponseFromRequest(req, 200, "OK", nil)
		return ring, ok
	}
	b.Run("own", func(b *testing.B) {
		c := NewClients(clock.Real{})
		sink := &sinkConn{}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req := invite(i)
			ring, ok := responses(req)
			tx, err := c.Request(sink, dest, req)
			if err != nil {
				b.Fatal(err)
			}
			tx.Receive(ring)
			tx.Receive(ok)
			<-tx.Responses()
			<-tx.Responses()
		}
	})
	b.Run("sipgo", func(b *testing.B) {
		conn := &sinkConnection{}
		log := slog.New(slog.DiscardHandler)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			req := invite(i)
			ring, ok := responses(req)
			tx := sip.NewClientTx(fmt.Sprint("z9hG4bK-bench-", i), req, conn, log)
			if err := tx.Init(); err != nil {
				b.Fatal(err)
			}
			go tx.Receive(ring)
			<-tx.Responses()
			go tx.Receive(ok)
			<-tx.Responses()
			tx.Terminate() // sipgo would keep it, and its Timer M, for 32 s
		}
	})
}

// sinkConnection is a sipgo Connection that discards what it is given.
type sinkConnection struct{}

func (sinkConnection) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
}
func (sinkConnection) WriteMsg(m sip.Message) error { _ = m.String(); return nil }
func (sinkConnection) Ref(int) int                  { return 1 }
func (sinkConnection) TryClose() (int, error)       { return 1, nil }
func (sinkConnection) Close() error                 { return nil }
