package wire

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// An INVITE that came in a datagram is served outside sipgo too (Invites,
// opt-in: Transactions.ServeInvite): sipgo would parse it a second time,
// start a goroutine for it, give it a transaction with a connection
// lookup, a channel and AfterFunc timers (100 Trying, then Timer L for 32 s
// after every 2xx, whose firing starts one goroutine more), and do the
// same for its CANCEL. InviteTx is the INVITE server transaction of RFC
// 3261 §17.2.1 as RFC 6026 amends it, reduced to what the call side asks
// of it:
//
//   - Proceeding: the user's provisional responses go out, the last one
//     again to each retransmitted INVITE; a 100 Trying goes for it when
//     the user has said nothing within sipgo's Timer_1xx (the table's one
//     timer, not one per transaction). A matching CANCEL gets 200, the
//     INVITE 487, and the OnCancel hooks run.
//   - Accepted (a 2xx went): retransmitted INVITEs are absorbed by the
//     table while it remembers the transaction, which takes the place of
//     Timer L; the 2xx's own retransmissions are the user's (the call's
//     AwaitAck sends them through Respond, which passes them on).
//   - Completed (a non-2xx went): the response is sent again with Timer G
//     until its ACK or Timer H. This is the only timer a transaction ever
//     has, and it exists only while that wait lasts: on a LAN the ACK comes
//     before Timer G fires.
//   - Confirmed (the ACK came): further ACKs and INVITEs are absorbed while
//     the table remembers the transaction, which takes the place of Timer
//     I.
//
// A transaction whose handler returned without a final response ends, and
// is forgotten, as sipgo ends one: a retransmission then starts anew.

// inviteState is where an InviteTx is in RFC 3261 §17.2.1 (RFC 6026).
type inviteState uint8

const (
	inviteProceeding inviteState = iota
	inviteAccepted               // a 2xx went
	inviteCompleted              // a non-2xx went, resent until its ACK
	inviteConfirmed              // its ACK came
	inviteTerminated             // ended: Terminate, Timer H, or no final response
)

// InviteTx is one INVITE server transaction over UDP served outside
// sipgo's transaction layer. It is a sip.ServerTransaction, answered as
// one of sipgo's is.
type InviteTx struct {
	t       *Invites
	key     regTxKey
	pc      net.PacketConn
	dest    *net.UDPAddr
	started time.Time // when the INVITE came: for the 100 Trying, and Arrived

	mu     sync.Mutex
	state  inviteState
	origin *sip.Request  // the INVITE, until the final response
	last   *sip.Response // the last provisional (Proceeding), the final (Completed)
	// tag is the To tag of our responses, which the 487 and the 200 to a
	// CANCEL take too (RFC 3261 §9.2).
	tag       string
	cancelOK  *sip.Response // our 200 to the CANCEL, for its retransmissions
	onCancel  []sip.FnTxCancel
	onTerm    []sip.FnTxTerminate
	err       error
	ended     bool          // Done is closed, or will be made closed
	done      chan struct{} // made by Done on demand
	timer     *time.Timer   // Timer G and H, while a non-2xx waits for its ACK
	interval  time.Duration // Timer G's next interval
	cap       time.Duration // and its cap, T2 as it was when the response went
	deadline  time.Time     // Timer H
	forgotten bool          // left the table (ended without a final response)
}

// Arrived returns when the INVITE came, as the socket's reader saw its
// first copy: where the PBX's share of a call's setup begins.
func (tx *InviteTx) Arrived() time.Time { return tx.started }

// Respond sends res. Provisional responses go while no final one has; the
// final one (a 2xx, or a non-2xx then resent until its ACK) once; after a
// 2xx, further 2xx are the user's retransmissions of it and go out as they
// are (RFC 6026 §7.1). Anything else is refused with the transaction's
// error, as sipgo refuses it.
func (tx *InviteTx) Respond(res *sip.Response) error {
	buf := replyBufs.Get().(*bytes.Buffer)
	defer replyBufs.Put(buf)
	buf.Reset()
	res.StringWrite(buf)
	if buf.Len() > sip.UDPMTUSize-200 {
		// As sipgo's UDP transport refuses it.
		return sip.ErrUDPMTUCongestion
	}
	tx.mu.Lock()
	switch {
	case tx.state == inviteAccepted && res.IsSuccess():
		err := tx.send(buf.Bytes())
		tx.mu.Unlock()
		return err
	case tx.state != inviteProceeding:
		err := tx.err
		tx.mu.Unlock()
		if err == nil {
			err = sip.ErrTransactionTerminated
		}
		return err
	}
	if h := res.To(); h != nil && res.StatusCode > 100 {
		if tag := Tag(h.Params); tag != "" {
			tx.tag = tag
		}
	}
	if res.IsProvisional() {
		tx.last = res
		err := tx.send(buf.Bytes())
		tx.mu.Unlock()
		return err
	}
	tx.origin, tx.onCancel = nil, nil
	if res.IsSuccess() {
		tx.state, tx.last = inviteAccepted, nil
	} else {
		tx.state, tx.last = inviteCompleted, res
		tx.armTimerG()
	}
	err := tx.send(buf.Bytes())
	accepted := tx.state == inviteAccepted
	tx.mu.Unlock()
	tx.t.finished(tx)
	if accepted {
		// Nothing is left for the user to wait for: the 2xx's
		// retransmissions are its own.
		tx.end()
	}
	return err
}

// send writes b, a response, to the client. tx.mu is held: responses go
// out in the order they were decided on.
func (tx *InviteTx) send(b []byte) error {
	if _, err := tx.pc.WriteTo(b, tx.dest); err != nil {
		return fmt.Errorf("%w: %w", sip.ErrTransactionTransport, err)
	}
	return nil
}

// resend writes res again; tx.mu is held.
func (tx *InviteTx) resend(res *sip.Response) {
	buf := replyBufs.Get().(*bytes.Buffer)
	defer replyBufs.Put(buf)
	buf.Reset()
	res.StringWrite(buf)
	_ = tx.send(buf.Bytes())
}

// armTimerG starts Timer G and H for the non-2xx just sent; tx.mu is held.
func (tx *InviteTx) armTimerG() {
	// sipgo's timers are globals, which tests change: the callback reads
	// none of them.
	tx.interval, tx.cap = sip.Timer_G, sip.T2
	tx.deadline = time.Now().Add(sip.Timer_H)
	tx.timer = time.AfterFunc(tx.interval, tx.timerG)
}

// timerG sends the non-2xx again, T1 doubling up to T2, until Timer H,
// when the transaction ends unacknowledged.
func (tx *InviteTx) timerG() {
	tx.mu.Lock()
	if tx.state != inviteCompleted {
		tx.mu.Unlock()
		return
	}
	left := time.Until(tx.deadline)
	if left <= 0 {
		tx.state, tx.last, tx.timer = inviteTerminated, nil, nil
		if tx.err == nil {
			tx.err = sip.ErrTransactionTerminated // as sipgo's Timer H leaves it
		}
		tx.mu.Unlock()
		tx.end()
		return
	}
	tx.resend(tx.last)
	tx.interval = min(2*tx.interval, tx.cap)
	tx.timer.Reset(min(tx.interval, left))
	tx.mu.Unlock()
}

// retransmitted answers a retransmission of the INVITE: the last
// provisional response again while Proceeding, the final one while
// Completed; otherwise it is absorbed.
func (tx *InviteTx) retransmitted() {
	tx.mu.Lock()
	if tx.last != nil && (tx.state == inviteProceeding || tx.state == inviteCompleted) {
		tx.resend(tx.last)
	}
	tx.mu.Unlock()
}

// trying sends 100 Trying when the user has sent nothing yet (sipgo's
// Timer_1xx, RFC 3261 §17.2.1).
func (tx *InviteTx) trying() {
	tx.mu.Lock()
	if tx.state == inviteProceeding && tx.last == nil && tx.origin != nil {
		tx.last = sip.NewResponseFromRequest(tx.origin, 100, "Trying", nil)
		tx.resend(tx.last)
	}
	tx.mu.Unlock()
}

// cancelled answers cancel, a CANCEL matching the INVITE, with 200 (again,
// to a retransmitted one); while no final response went, the INVITE gets
// 487 and the OnCancel hooks run, as sipgo's transaction does it.
func (tx *InviteTx) cancelled(cancel *sip.Request) {
	tx.mu.Lock()
	if tx.tag == "" {
		tx.tag = sip.GenerateTagN(16)
	}
	if tx.cancelOK == nil {
		tx.cancelOK = tx.tagged(sip.NewResponseFromRequest(cancel, 200, "OK", nil))
	}
	tx.resend(tx.cancelOK)
	if tx.state != inviteProceeding {
		tx.mu.Unlock()
		return
	}
	res := tx.tagged(sip.NewResponseFromRequest(tx.origin, 487, "Request Terminated", nil))
	hooks := tx.onCancel
	tx.origin, tx.onCancel = nil, nil
	tx.state, tx.last, tx.err = inviteCompleted, res, sip.ErrTransactionCanceled
	tx.armTimerG()
	tx.resend(res)
	tx.mu.Unlock()
	tx.t.finished(tx)
	for _, f := range hooks {
		f(cancel)
	}
}

// tagged gives res our To tag; tx.mu is held.
func (tx *InviteTx) tagged(res *sip.Response) *sip.Response {
	if h := res.To(); h != nil {
		h.Params.Add("tag", tx.tag)
	}
	return res
}

// acked takes an ACK with the INVITE's branch and reports whether the
// transaction absorbed it: the ACK of its non-2xx, or a retransmission of
// that ACK. One that comes while Proceeding or after a 2xx is not its own.
func (tx *InviteTx) acked() bool {
	tx.mu.Lock()
	switch tx.state {
	case inviteCompleted:
		tx.state, tx.last = inviteConfirmed, nil
		if tx.timer != nil {
			tx.timer.Stop()
			tx.timer = nil
		}
		tx.mu.Unlock()
		tx.end()
		return true
	case inviteConfirmed, inviteTerminated:
		tx.mu.Unlock()
		return true
	}
	tx.mu.Unlock()
	return false
}

// returned is told that the INVITE's handler returned: a transaction
// still without a final response ends, as sipgo ends it, and is
// forgotten.
func (tx *InviteTx) returned() {
	tx.mu.Lock()
	unanswered := tx.state == inviteProceeding
	tx.mu.Unlock()
	if unanswered {
		tx.Terminate()
	}
}

// Terminate ends the transaction: no more responses go. One without a
// final response is forgotten, so that a retransmission of its INVITE is
// served anew.
func (tx *InviteTx) Terminate() {
	tx.mu.Lock()
	if tx.state == inviteTerminated {
		tx.mu.Unlock()
		return
	}
	forget := tx.state == inviteProceeding
	tx.state, tx.last, tx.origin, tx.onCancel = inviteTerminated, nil, nil, nil
	if tx.err == nil {
		tx.err = sip.ErrTransactionTerminated
	}
	if tx.timer != nil {
		tx.timer.Stop()
		tx.timer = nil
	}
	tx.forgotten = tx.forgotten || forget
	tx.mu.Unlock()
	if forget {
		tx.t.forget(tx)
	}
	tx.end()
}

// end closes Done and runs the OnTerminate hooks, once.
func (tx *InviteTx) end() {
	tx.mu.Lock()
	if tx.ended {
		tx.mu.Unlock()
		return
	}
	tx.ended = true
	if tx.done != nil {
		close(tx.done)
	}
	hooks, err := tx.onTerm, tx.err
	tx.onTerm = nil
	tx.mu.Unlock()
	for _, f := range hooks {
		f(tx.key.branch, err)
	}
}

// Done is closed once the transaction asks nothing more of its user: its
// 2xx went, its non-2xx was acknowledged or given up (Timer H), or it was
// ended without a final response.
func (tx *InviteTx) Done() <-chan struct{} {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.ended {
		return closedChan
	}
	if tx.done == nil {
		tx.done = make(chan struct{})
	}
	return tx.done
}

// Err is why the transaction ended: sip.ErrTransactionCanceled after a
// CANCEL, sip.ErrTransactionTerminated after Terminate or Timer H; nil
// otherwise.
func (tx *InviteTx) Err() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.err
}

// OnTerminate has f called when Done closes; false when it has already.
func (tx *InviteTx) OnTerminate(f sip.FnTxTerminate) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.ended {
		return false
	}
	tx.onTerm = append(tx.onTerm, f)
	return true
}

// OnCancel has f called (on the socket's reader: it must not wait) when a
// CANCEL of the INVITE comes before its final response, after the 487
// went. It reports false when that can no longer happen: the INVITE was
// cancelled or ended already, or has had its final response.
func (tx *InviteTx) OnCancel(f sip.FnTxCancel) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state != inviteProceeding {
		return false
	}
	tx.onCancel = append(tx.onCancel, f)
	return true
}

// Acks returns nil: the ACK of a non-2xx is absorbed, that of a 2xx (a new
// transaction, RFC 3261 §17.1.1.3) goes to the server's ACK handler. Nobody
// here reads sipgo's channel of them either.
func (tx *InviteTx) Acks() <-chan *sip.Request { return nil }
