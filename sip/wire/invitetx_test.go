package wire

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// The INVITE transactions run under synctest: their timers (Timer G and
// H, the 100 Trying) and the generations of the table (a real clock,
// which is the bubble's) move with the bubble's time, not the wall clock.

var inviteSrc = netip.MustParseAddrPort("192.0.2.1:5060")

// wireLog is a PacketConn that keeps the datagrams written to it.
type wireLog struct {
	net.PacketConn
	mu   sync.Mutex
	msgs []string
}

func (c *wireLog) WriteTo(p []byte, _ net.Addr) (int, error) {
	c.mu.Lock()
	c.msgs = append(c.msgs, string(p))
	c.mu.Unlock()
	return len(p), nil
}

// take returns the start lines and CSeqs of what was written since the
// last take ("486 Busy Here/INVITE").
func (c *wireLog) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var got []string
	for _, m := range c.msgs {
		start, rest, _ := strings.Cut(m, "\r\n")
		_, cseq, _ := strings.Cut(rest, "CSeq: 1 ")
		cseq, _, _ = strings.Cut(cseq, "\r\n")
		got = append(got, strings.TrimPrefix(start, "SIP/2.0 ")+"/"+cseq)
	}
	c.msgs = nil
	return got
}

// all returns the whole datagrams written since the last take, and
// forgets them.
func (c *wireLog) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	msgs := c.msgs
	c.msgs = nil
	return msgs
}

func (c *wireLog) want(t *testing.T, what string, want ...string) {
	t.Helper()
	synctest.Wait()
	if got := c.take(); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("%s: sent %q, want %q", what, got, want)
	}
}

// inviteReq parses a request of the INVITE transaction z9hG4bK-<branch>:
// the INVITE, its CANCEL or an ACK (with the To tag toTag).
func inviteReq(t *testing.T, method, branch, toTag string) *sip.Request {
	t.Helper()
	if toTag != "" {
		toTag = ";tag=" + toTag
	}
	raw := method + " sip:20002@192.0.2.9 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-" + branch + ";rport\r\n" +
		"From: <sip:20001@192.0.2.9>;tag=a\r\nTo: <sip:20002@192.0.2.9>" + toTag + "\r\n" +
		"Call-ID: " + branch + "@192.0.2.1\r\nCSeq: 1 " + method + "\r\n" +
		"Contact: <sip:20001@192.0.2.1:5060>\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}

// inviteServer is a table serving INVITEs with a handler that hands each
// transaction to the test and returns once told to.
type inviteServer struct {
	txs     *Transactions
	conn    *wireLog
	handled chan sip.ServerTransaction
	release chan struct{}
}

func newInviteServer() *inviteServer {
	s := &inviteServer{txs: NewTransactions(clock.Real{}, nil), conn: &wireLog{},
		handled: make(chan sip.ServerTransaction, 4), release: make(chan struct{})}
	s.txs.ServeInvite(func(_ *sip.Request, tx sip.ServerTransaction) {
		s.handled <- tx
		<-s.release
	})
	return s
}

func (s *inviteServer) serve(t *testing.T, method, branch, toTag string) bool {
	t.Helper()
	return s.txs.Serve(s.conn, inviteSrc, inviteReq(t, method, branch, toTag))
}

// handledOnce returns the transaction the handler got, failing when the
// handler ran other than once since the last call.
func (s *inviteServer) handledOnce(t *testing.T) *InviteTx {
	t.Helper()
	synctest.Wait()
	if len(s.handled) != 1 {
		t.Fatalf("handler ran %d times, want once", len(s.handled))
	}
	return (<-s.handled).(*InviteTx)
}

func respond(t *testing.T, tx sip.ServerTransaction, req *sip.Request, code int, reason string) error {
	t.Helper()
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if code > 100 {
		res.To().Params.Add("tag", "pbx")
	}
	return tx.Respond(res)
}

// noGoroutineLeft fails when a goroutine of the transactions is left: a
// handler's, or a timer's.
func noGoroutineLeft(t *testing.T) {
	t.Helper()
	synctest.Wait()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "wire.(*InviteTx)") || strings.Contains(g, "wire.(*Invites)") ||
			strings.Contains(g, "wire.newInviteServer") {
			t.Fatalf("goroutine left:\n%s", g)
		}
	}
}

// noTimer fails when tx still has a timer.
func noTimer(t *testing.T, tx *InviteTx) {
	t.Helper()
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.timer != nil {
		t.Fatal("the transaction still has a timer")
	}
}

// TestInviteTxNon2xx: a retransmitted INVITE gets the last provisional
// response, then the final one, without a second run of the handler; the
// non-2xx is resent with Timer G until its ACK, which the transaction
// absorbs (and its retransmission), and nothing is sent after it.
func TestInviteTxNon2xx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newInviteServer()
		req := inviteReq(t, "INVITE", "a", "")
		if !s.serve(t, "INVITE", "a", "") {
			t.Fatal("INVITE not served")
		}
		tx := s.handledOnce(t)
		s.serve(t, "INVITE", "a", "")
		s.conn.want(t, "INVITE again before any response")
		respond(t, tx, req, 180, "Ringing")
		s.serve(t, "INVITE", "a", "")
		s.conn.want(t, "180, INVITE again", "180 Ringing/INVITE", "180 Ringing/INVITE")
		if err := respond(t, tx, req, 486, "Busy Here"); err != nil {
			t.Fatal(err)
		}
		s.serve(t, "INVITE", "a", "")
		s.conn.want(t, "486, INVITE again", "486 Busy Here/INVITE", "486 Busy Here/INVITE")
		if err := respond(t, tx, req, 200, "OK"); err == nil {
			t.Fatal("a 2xx after the final response was taken")
		}
		time.Sleep(sip.T1)
		s.conn.want(t, "Timer G", "486 Busy Here/INVITE")
		time.Sleep(2 * sip.T1)
		s.conn.want(t, "Timer G doubled", "486 Busy Here/INVITE")
		if s.txs.AbsorbAck(inviteSrc, "z9hG4bK-other") {
			t.Fatal("an ACK of another branch absorbed")
		}
		if !s.txs.AbsorbAck(inviteSrc, "z9hG4bK-a") || !s.txs.AbsorbAck(inviteSrc, "z9hG4bK-a") {
			t.Fatal("the ACK of the 486, or its retransmission, not absorbed")
		}
		noTimer(t, tx)
		s.serve(t, "INVITE", "a", "")
		time.Sleep(sip.Timer_H)
		s.conn.want(t, "after the ACK")
		select {
		case <-tx.Done():
		default:
			t.Fatal("Done not closed after the ACK")
		}
		close(s.release)
		synctest.Wait()
		if len(s.handled) != 0 {
			t.Fatal("the handler ran again")
		}
		noGoroutineLeft(t)
	})
}

// TestInviteTxTimerH: a non-2xx never acknowledged is resent until Timer
// H, T1 doubling up to T2, and the transaction then ends.
func TestInviteTxTimerH(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newInviteServer()
		req := inviteReq(t, "INVITE", "h", "")
		s.serve(t, "INVITE", "h", "")
		tx := s.handledOnce(t)
		respond(t, tx, req, 603, "Decline")
		close(s.release) // the handler returns: the transaction goes on
		s.conn.take()
		time.Sleep(sip.Timer_H + time.Second)
		synctest.Wait()
		// T1 = 0.5 s: at 0.5, 1.5, 3.5, 7.5, then every 4 s up to 31.5.
		if got := len(s.conn.take()); got != 10 {
			t.Errorf("resent %d times before Timer H, want 10", got)
		}
		select {
		case <-tx.Done():
		default:
			t.Fatal("not ended by Timer H")
		}
		if !errors.Is(tx.Err(), sip.ErrTransactionTerminated) {
			t.Errorf("Err %v after Timer H", tx.Err())
		}
		noTimer(t, tx)
	})
}

// TestInviteTxCancel: a CANCEL matching the INVITE gets 200, the INVITE
// 487, both with the To tag of the ringing, and the OnCancel hooks run
// once; a retransmitted CANCEL gets the 200 again and nothing more; the
// 487's ACK is absorbed. A CANCEL of another branch is left to sipgo.
func TestInviteTxCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newInviteServer()
		req := inviteReq(t, "INVITE", "c", "")
		s.serve(t, "INVITE", "c", "")
		tx := s.handledOnce(t)
		var cancels []*sip.Request
		if !tx.OnCancel(func(r *sip.Request) { cancels = append(cancels, r) }) {
			t.Fatal("OnCancel refused while ringing")
		}
		respond(t, tx, req, 180, "Ringing")
		s.conn.take()
		if s.serve(t, "CANCEL", "other", "") {
			t.Fatal("a CANCEL of another branch served")
		}
		if !s.serve(t, "CANCEL", "c", "") {
			t.Fatal("CANCEL not served")
		}
		synctest.Wait()
		msgs := s.conn.all()
		if len(msgs) != 2 || !strings.HasPrefix(msgs[0], "SIP/2.0 200 OK") || !strings.Contains(msgs[0], "CSeq: 1 CANCEL") ||
			!strings.HasPrefix(msgs[1], "SIP/2.0 487 Request Terminated") || !strings.Contains(msgs[1], "CSeq: 1 INVITE") {
			t.Fatalf("CANCEL: sent %q, want its 200 and the INVITE's 487", msgs)
		}
		for _, m := range msgs {
			if !strings.Contains(m, "To: <sip:20002@192.0.2.9>;tag=pbx\r\n") {
				t.Errorf("not with the ringing's To tag: %q", m)
			}
		}
		if len(cancels) != 1 || cancels[0].Method != sip.CANCEL {
			t.Fatalf("OnCancel hooks ran %d times", len(cancels))
		}
		if !errors.Is(tx.Err(), sip.ErrTransactionCanceled) {
			t.Errorf("Err %v after the CANCEL", tx.Err())
		}
		if err := respond(t, tx, req, 200, "OK"); err == nil {
			t.Fatal("a 200 after the 487 was taken")
		}
		if tx.OnCancel(func(*sip.Request) {}) {
			t.Fatal("OnCancel taken after the CANCEL")
		}
		s.serve(t, "CANCEL", "c", "")
		s.conn.want(t, "CANCEL again", "200 OK/CANCEL")
		s.serve(t, "INVITE", "c", "")
		s.conn.want(t, "INVITE again", "487 Request Terminated/INVITE")
		time.Sleep(sip.T1)
		s.conn.want(t, "Timer G", "487 Request Terminated/INVITE")
		if !s.txs.AbsorbAck(inviteSrc, "z9hG4bK-c") {
			t.Fatal("the 487's ACK not absorbed")
		}
		time.Sleep(sip.Timer_H)
		s.conn.want(t, "after the ACK")
		if len(cancels) != 1 {
			t.Fatalf("OnCancel hooks ran %d times", len(cancels))
		}
		close(s.release)
		synctest.Wait()
		noGoroutineLeft(t)
	})
}

// TestInviteTx2xx: after a 2xx, retransmitted INVITEs are absorbed, the
// user's retransmissions of the 2xx go out, and an ACK with the INVITE's
// branch is not the transaction's (it goes on to the call); a CANCEL gets
// 200 and changes nothing. The table forgets the transaction within
// three times Timer J.
func TestInviteTx2xx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newInviteServer()
		req := inviteReq(t, "INVITE", "ok", "")
		s.serve(t, "INVITE", "ok", "")
		tx := s.handledOnce(t)
		var cancelled bool
		tx.OnCancel(func(*sip.Request) { cancelled = true })
		if err := respond(t, tx, req, 200, "OK"); err != nil {
			t.Fatal(err)
		}
		close(s.release)
		s.serve(t, "INVITE", "ok", "")
		s.conn.want(t, "200, INVITE again", "200 OK/INVITE")
		if err := respond(t, tx, req, 200, "OK"); err != nil {
			t.Fatalf("2xx retransmission refused: %v", err)
		}
		if err := respond(t, tx, req, 180, "Ringing"); err == nil {
			t.Fatal("a 180 after the 2xx was taken")
		}
		s.conn.want(t, "2xx retransmission", "200 OK/INVITE")
		if s.txs.AbsorbAck(inviteSrc, "z9hG4bK-ok") {
			t.Fatal("an ACK after the 2xx absorbed")
		}
		s.serve(t, "CANCEL", "ok", "")
		s.conn.want(t, "CANCEL after the 2xx", "200 OK/CANCEL")
		if cancelled || tx.Err() != nil {
			t.Fatalf("CANCEL after the 2xx: hook run %v, Err %v", cancelled, tx.Err())
		}
		time.Sleep(3 * TimerJ())
		s.serve(t, "INVITE", "ok", "")
		s.handledOnce(t)
	})
}

// TestInviteTxUnanswered: a 100 Trying goes for an INVITE without a
// response within Timer_1xx, and again to its retransmission; none for
// one the handler answered in time. A transaction whose handler returned
// without a final response ends, and its INVITE's next retransmission is
// served anew.
func TestInviteTxUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newInviteServer()
		req := inviteReq(t, "INVITE", "quick", "")
		s.serve(t, "INVITE", "quick", "")
		respond(t, s.handledOnce(t), req, 180, "Ringing")
		s.conn.take()
		s.serve(t, "INVITE", "slow", "")
		tx := s.handledOnce(t)
		time.Sleep(sip.Timer_1xx)
		s.conn.want(t, "Timer_1xx", "100 Trying/INVITE")
		s.serve(t, "INVITE", "slow", "")
		s.conn.want(t, "INVITE again", "100 Trying/INVITE")
		s.release <- struct{}{}
		s.release <- struct{}{}
		synctest.Wait()
		select {
		case <-tx.Done():
		default:
			t.Fatal("a transaction left unanswered not ended")
		}
		s.serve(t, "INVITE", "slow", "")
		s.handledOnce(t)
		close(s.release)
		synctest.Wait()
		s.conn.want(t, "the end")
		noGoroutineLeft(t)
	})
}
