package wire

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// clientPeer is the far end of a client transaction: a UDP socket on
// loopback that reads what the transaction sends, and the transaction's
// own socket.
type clientPeer struct {
	t       *testing.T
	pc      net.PacketConn // the transaction's
	peer    net.PacketConn // the far end's
	clients *Clients
}

func newClientPeer(t *testing.T) *clientPeer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); peer.Close() })
	return &clientPeer{t: t, pc: pc, peer: peer, clients: NewClients(clock.Real{})}
}

// fastTimers makes T1 20 ms (Timer B/F 1.28 s) for the test.
func fastTimers(t *testing.T) {
	sip.SetTimers(20*time.Millisecond, 80*time.Millisecond, 100*time.Millisecond)
	t.Cleanup(func() { sip.SetTimers(500*time.Millisecond, 4*time.Second, 5*time.Second) })
}

// request builds a request of method from the transaction's socket to
// the peer's, with branch.
func (p *clientPeer) request(method sip.RequestMethod, branch string) *sip.Request {
	to := p.peer.LocalAddr().(*net.UDPAddr)
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: "200", Host: "127.0.0.1", Port: to.Port})
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1",
		Port: p.pc.LocalAddr().(*net.UDPAddr).Port}
	via.Params.Add("branch", branch)
	req.AppendHeader(via)
	req.AppendHeader(sip.NewHeader("Route", "<sip:proxy.example;lr>"))
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "100", Host: "pbx"},
		Params: sip.HeaderParams{{K: "tag", V: "from1"}}})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "200", Host: "pbx"}})
	cid := sip.CallIDHeader("call-" + branch)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 7, MethodName: method})
	req.SetBody(nil)
	return req
}

// send starts the transaction of req.
func (p *clientPeer) send(req *sip.Request) *ClientTx {
	p.t.Helper()
	tx, err := p.clients.Request(p.pc, p.peer.LocalAddr().(*net.UDPAddr).AddrPort(), req)
	if err != nil {
		p.t.Fatal(err)
	}
	return tx
}

// read returns the next datagram the peer got, "" after wait.
func (p *clientPeer) read(wait time.Duration) string {
	buf := make([]byte, 4096)
	p.peer.SetReadDeadline(time.Now().Add(wait))
	n, _, err := p.peer.ReadFrom(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// respond answers req with code (a To tag on all but 100) as the edge
// would hand it over: matched by branch and CSeq method, then received.
func (p *clientPeer) respond(req *sip.Request, code int, reason string) bool {
	p.t.Helper()
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if code > 100 {
		res.To().Params.Add("tag", "to1")
	}
	msg, err := sip.ParseMessage([]byte(res.String()))
	if err != nil {
		p.t.Fatal(err)
	}
	res = msg.(*sip.Response)
	branch, _ := res.Via().Params.Get("branch")
	tx := p.clients.Match(branch, string(res.CSeq().MethodName))
	if tx == nil {
		return false
	}
	tx.Receive(res)
	return true
}

// TestClientInvite: an INVITE goes again at Timer A until a provisional
// response; the responses come up to the final one, when the
// transaction's end hooks run; a retransmitted 2xx goes to the
// retransmission hook, set after the final, and is not passed up again.
func TestClientInvite(t *testing.T) {
	fastTimers(t)
	p := newClientPeer(t)
	req := p.request(sip.INVITE, "z9hG4bK-inv1")
	tx := p.send(req)
	for i := range 3 { // at 0, T1, 3·T1
		if got := p.read(time.Second); !strings.HasPrefix(got, "INVITE ") {
			t.Fatalf("send %d: got %q", i, got)
		}
	}
	ended := make(chan error, 1)
	if !tx.OnTerminate(func(_ string, err error) { ended <- err }) {
		t.Fatal("OnTerminate refused while calling")
	}
	if !p.respond(req, 180, "Ringing") {
		t.Fatal("180 not matched")
	}
	if got := p.read(5 * sip.T1); got != "" {
		t.Fatalf("INVITE sent again after a provisional response: %q", got)
	}
	if !p.respond(req, 200, "OK") {
		t.Fatal("200 not matched")
	}
	if r := <-tx.Responses(); r.StatusCode != 180 {
		t.Fatalf("first response %d", r.StatusCode)
	}
	if r := <-tx.Responses(); r.StatusCode != 200 {
		t.Fatalf("second response %d", r.StatusCode)
	}
	if err := <-ended; err != nil {
		t.Fatalf("ended with %v", err)
	}
	if tx.OnTerminate(func(string, error) {}) {
		t.Fatal("OnTerminate accepted after the final response")
	}
	again := make(chan int, 4)
	if !tx.OnRetransmission(func(r *sip.Response) { again <- r.StatusCode }) {
		t.Fatal("OnRetransmission refused after the 2xx")
	}
	if !p.respond(req, 200, "OK") {
		t.Fatal("retransmitted 200 not matched")
	}
	if code := <-again; code != 200 {
		t.Fatalf("hook got %d", code)
	}
	select {
	case r := <-tx.Responses():
		t.Fatalf("retransmission passed up: %d", r.StatusCode)
	default:
	}
	if n := p.clients.Live(); n != 0 {
		t.Fatalf("%d live transactions", n)
	}
	tx.Terminate()
	if p.respond(req, 200, "OK") {
		t.Fatal("a terminated transaction still matched")
	}
}

// TestClientInviteFailure: the failure of an INVITE is ACKed by the
// transaction (RFC 3261 §17.1.1.3: the INVITE's Via and Route, the
// response's To tag, CSeq ACK), passed up once, and its retransmission
// gets the same ACK again.
func TestClientInviteFailure(t *testing.T) {
	fastTimers(t)
	p := newClientPeer(t)
	req := p.request(sip.INVITE, "z9hG4bK-inv2")
	tx := p.send(req)
	p.read(time.Second)
	if !p.respond(req, 486, "Busy Here") {
		t.Fatal("486 not matched")
	}
	ack := p.read(time.Second)
	for _, want := range []string{"ACK sip:200@127.0.0.1:", "branch=z9hG4bK-inv2", "Route: <sip:proxy.example;lr>",
		";tag=to1", "CSeq: 7 ACK", "Call-ID: call-z9hG4bK-inv2", "tag=from1"} {
		if !strings.Contains(ack, want) {
			t.Fatalf("ACK lacks %q:\n%s", want, ack)
		}
	}
	if r := <-tx.Responses(); r.StatusCode != 486 {
		t.Fatalf("response %d", r.StatusCode)
	}
	if !p.respond(req, 486, "Busy Here") {
		t.Fatal("retransmitted 486 not matched")
	}
	if again := p.read(time.Second); again != ack {
		t.Fatalf("retransmission ACKed with %q", again)
	}
	select {
	case r := <-tx.Responses():
		t.Fatalf("retransmission passed up: %d", r.StatusCode)
	default:
	}
}

// TestClientTimeout: an INVITE nobody answers ends at Timer B, and a BYE
// at Timer F, with a timeout error, their end hooks run and Done closed;
// the table forgets them. A BYE's retransmissions are at most T2 apart.
func TestClientTimeout(t *testing.T) {
	fastTimers(t)
	p := newClientPeer(t)
	for _, m := range []sip.RequestMethod{sip.INVITE, sip.BYE} {
		tx := p.send(p.request(m, "z9hG4bK-lost-"+string(m)))
		ended := make(chan error, 1)
		tx.OnTerminate(func(_ string, err error) { ended <- err })
		start := time.Now()
		var gaps []time.Duration
		last := start
		for p.read(10*sip.T1) != "" {
			gaps = append(gaps, time.Since(last))
			last = time.Now()
		}
		<-tx.Done()
		if !errors.Is(tx.Err(), sip.ErrTransactionTimeout) {
			t.Fatalf("%s ended with %v", m, tx.Err())
		}
		if err := <-ended; !errors.Is(err, sip.ErrTransactionTimeout) {
			t.Fatalf("%s hook got %v", m, err)
		}
		if m == sip.BYE && len(gaps) > 3 && gaps[len(gaps)-1] > 3*sip.T2 {
			t.Fatalf("BYE retransmissions %v apart", gaps)
		}
		if len(gaps) < 5 {
			t.Fatalf("%s sent %d times", m, len(gaps))
		}
	}
	if n := p.clients.Live(); n != 0 {
		t.Fatalf("%d live transactions", n)
	}
}

// TestClientCancelOwnTransaction: a CANCEL carries its INVITE's branch and
// is a transaction of its own; each gets its own responses.
func TestClientCancelOwnTransaction(t *testing.T) {
	fastTimers(t)
	p := newClientPeer(t)
	inv := p.request(sip.INVITE, "z9hG4bK-inv3")
	itx := p.send(inv)
	p.read(time.Second)
	p.respond(inv, 180, "Ringing")
	cancel := p.request(sip.CANCEL, "z9hG4bK-inv3")
	ctx := p.send(cancel)
	p.read(time.Second)
	p.respond(cancel, 200, "OK")
	p.respond(inv, 487, "Request Terminated")
	if r := <-ctx.Responses(); r.StatusCode != 200 || r.CSeq().MethodName != sip.CANCEL {
		t.Fatalf("CANCEL got %v", r.StartLine())
	}
	if r := <-itx.Responses(); r.StatusCode != 180 {
		t.Fatalf("INVITE got %v", r.StartLine())
	}
	if r := <-itx.Responses(); r.StatusCode != 487 {
		t.Fatalf("INVITE got %v", r.StartLine())
	}
	if ack := p.read(time.Second); !strings.HasPrefix(ack, "ACK ") {
		t.Fatalf("487 not ACKed: %q", ack)
	}
}

// TestClientNeverWaits: the reader of the socket never waits for the one
// reading a transaction: provisional responses beyond the channel's room
// are dropped, and the final one still comes.
func TestClientNeverWaits(t *testing.T) {
	fastTimers(t)
	p := newClientPeer(t)
	req := p.request(sip.INVITE, "z9hG4bK-inv4")
	tx := p.send(req)
	done := make(chan struct{})
	go func() {
		for i := range 50 {
			p.respond(req, 180+i%3, "Ringing")
		}
		p.respond(req, 200, "OK")
		close(done)
	}()
	<-done
	var codes []int
	for r := range tx.Responses() {
		codes = append(codes, r.StatusCode)
		if r.StatusCode >= 200 {
			break
		}
	}
	if len(codes) != clientTxQueue || codes[len(codes)-1] != 200 {
		t.Fatalf("responses %v", codes)
	}
}

// TestClientsBound: the answered transactions are held two generations
// of at most clientTxGeneration, and none past three times Timer M.
func TestClientsBound(t *testing.T) {
	clk := clock.NewManual()
	c := NewClients(clk)
	sink := &sinkConn{}
	dest := netip.MustParseAddrPort("127.0.0.1:5090")
	req := func(i int) *sip.Request {
		r := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060}
		via.Params.Add("branch", fmt.Sprint("z9hG4bK-", i))
		r.AppendHeader(via)
		r.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.BYE})
		return r
	}
	answer := func(i int) {
		tx, err := c.Request(sink, dest, req(i))
		if err != nil {
			t.Fatal(err)
		}
		tx.Receive(&sip.Response{StatusCode: 200})
		<-tx.Responses()
	}
	for i := range 3 * clientTxGeneration {
		answer(i)
		if n := len(c.cur[1]) + len(c.old[1]); n > 2*clientTxGeneration {
			t.Fatalf("%d transactions held", n)
		}
	}
	if c.Match(fmt.Sprint("z9hG4bK-", 0), "BYE") != nil {
		t.Fatal("the first transaction still held after 3 generations")
	}
	last := fmt.Sprint("z9hG4bK-", 3*clientTxGeneration-1)
	if c.Match(last, "BYE") == nil {
		t.Fatal("the last transaction forgotten")
	}
	clk.Advance(3 * 64 * sip.T1)
	answer(-1)
	if c.Match(last, "BYE") != nil {
		t.Fatal("a transaction three times Timer M old still held")
	}
}

// TestClientTooLarge: a request too large for a datagram is refused
// before anything is sent or kept.
func TestClientTooLarge(t *testing.T) {
	p := newClientPeer(t)
	req := p.request(sip.INVITE, "z9hG4bK-big")
	req.SetBody(bytes.Repeat([]byte("a"), 1500))
	if _, err := p.clients.Request(p.pc, p.peer.LocalAddr().(*net.UDPAddr).AddrPort(), req); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v", err)
	}
	if p.clients.Live() != 0 || p.read(100*time.Millisecond) != "" {
		t.Fatal("a request too large was kept or sent")
	}
}
