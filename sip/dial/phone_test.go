package dial

import (
	"net"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// phone is a UDP socket on loopback that answers every INVITE with a 180
// and a 200 carrying an SDP answer, as a desk phone does, and counts the
// ACKs. With resend set, it sends its 200 again on the first ACK of each
// call, as a phone whose ACK was lost does.
type phone struct {
	addr   string
	conn   net.PacketConn
	resend bool

	mu      sync.Mutex
	acks    int
	lastAck []*sip.Request // the last ACKs, with resend
	cond    *sync.Cond
}

func startPhone(tb testing.TB) *phone { return startPhoneResending(tb, false) }

func startPhoneResending(tb testing.TB, resend bool) *phone {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	ph := &phone{addr: conn.LocalAddr().String(), conn: conn, resend: resend}
	ph.cond = sync.NewCond(&ph.mu)
	go ph.serve()
	return ph
}

func (ph *phone) serve() {
	buf := make([]byte, 65535)
	sent := map[string][]byte{} // the 200 of each Call-ID, until resent
	for {
		n, from, err := ph.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			continue
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			continue
		}
		switch req.Method {
		case sip.INVITE:
			tag := sip.GenerateTagN(10)
			for _, code := range []int{180, 200} {
				reason := "Ringing"
				if code == 200 {
					reason = "OK"
				}
				res := sip.NewResponseFromRequest(req, code, reason, nil)
				res.To().Params.Add("tag", tag)
				res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: req.Recipient.User,
					Host: "192.168.1.23", Port: 5060}})
				if code == 200 {
					res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
					res.SetBody([]byte(phoneSDP))
				}
				out := []byte(res.String())
				_, _ = ph.conn.WriteTo(out, from)
				if code == 200 && ph.resend {
					sent[req.CallID().Value()] = out
				}
			}
		case sip.ACK:
			if ok := sent[req.CallID().Value()]; ok != nil {
				delete(sent, req.CallID().Value())
				_, _ = ph.conn.WriteTo(ok, from)
			}
			ph.mu.Lock()
			ph.acks++
			if ph.resend {
				ph.lastAck = append(ph.lastAck, req)
			}
			ph.cond.Broadcast()
			ph.mu.Unlock()
		}
	}
}

// waitAcks waits until n ACKs came.
func (ph *phone) waitAcks(n int) {
	ph.mu.Lock()
	for ph.acks < n {
		ph.cond.Wait()
	}
	ph.mu.Unlock()
}
