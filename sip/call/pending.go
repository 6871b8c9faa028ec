package call

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/dial"
)

// A 2xx we send to an INVITE is resent over UDP until its ACK comes: from
// T1, doubling up to T2, for 64·T1 (RFC 3261 §13.3.1.4); over TCP only the
// wait for the ACK remains. The ACK of a 2xx that carried our offer holds
// the answer. A caller's initial 2xx that is never ACKed ends the call.
// A call keeps its 2xx in its acks; the PBX's own dialogs outside a call
// use resendUntilAcked.

// Pending2xx is a 2xx we sent for an INVITE, resent until its ACK.
type Pending2xx struct {
	FromA    bool // sent to leg A (else B)
	Tx       sip.ServerTransaction
	Res      *sip.Response
	cseq     uint32
	Done     chan struct{} // closed once ACKed or given up
	next     time.Time
	interval time.Duration
	deadline time.Time
	Initial  bool // answers the caller's first INVITE: without its ACK the call ends
	reliable bool // TCP: no retransmission, only the wait for the ACK
	// Offer: the 2xx carried our offer (its INVITE had none), so the ACK
	// carries the answer.
	Offer bool
	// bye: the call ended meanwhile; this BYE goes once the ACK comes or
	// the wait gives up (byeAfterAck).
	bye *sip.Request
}

// acks is the call's 2xx waiting for their ACKs: it resends them, gives
// them up, and tells the call which ACKs came and which 2xx it gave up.
// It is the call's part, embedded in it; like every other part, only the
// call's actor touches it.
type acks struct {
	pending   []*Pending2xx // 2xx we retransmit until ACKed
	userAgent string        // our 2xx's Server header
	log       *slog.Logger
	// sendHeld sends a BYE (that waited for an ACK), off the actor.
	sendHeld func(bye *sip.Request)
}

// release closes p.done and sends the BYE held for its ACK, if any.
func (a *acks) release(p *Pending2xx) {
	close(p.Done)
	if bye := p.bye; bye != nil {
		a.sendHeld(bye)
	}
}

// AwaitAck keeps p, our 2xx to req, resent until its ACK comes (or given
// up), on the transport req came over.
func (a *acks) AwaitAck(req *sip.Request, p Pending2xx) {
	now := time.Now()
	p.cseq = req.CSeq().SeqNo
	p.next, p.interval, p.deadline = now.Add(sip.T1), sip.T1, now.Add(64*sip.T1)
	p.reliable = sip.IsReliable(req.Transport())
	a.pending = append(a.pending, &p)
}

// tick gives up the 2xx whose wait is over, calling lost (while the
// others are still held) for the caller's initial one, which it logs, and
// resends those due.
func (a *acks) tick(lost func()) {
	now := time.Now()
	keep := a.pending[:0]
	for _, p := range a.pending {
		if !now.Before(p.deadline) {
			a.release(p)
			if p.Initial {
				a.log.Info("no ack for our 200; hanging up")
				lost()
			}
			continue
		}
		if !p.reliable && !now.Before(p.next) {
			if err := p.Tx.Respond(p.Res); err != nil {
				a.log.Debug("2xx retransmission failed", "err", err)
			}
			p.interval = min(2*p.interval, sip.T2)
			p.next = now.Add(p.interval)
		}
		keep = append(keep, p)
	}
	a.pending = keep
}

// offerAnswered is the answer to the offer one of our 2xx carried.
type offerAnswered struct {
	fromA   bool   // the 2xx went to leg A (else B)
	initial bool   // the 2xx answered the caller's first INVITE
	answer  []byte // the body of its ACK; nil when ev was not its own ACK
}

// acked releases the 2xx that ev acknowledges and returns the answers to
// those of them that carried our offer.
func (a *acks) acked(ev *AckEvent) []offerAnswered {
	var answered []offerAnswered
	keep := a.pending[:0]
	for _, p := range a.pending {
		seq := ev.Req.CSeq().SeqNo
		// A 2xx with our offer waits for its own ACK, which has the answer:
		// a later request of the leg does not stand for it.
		if p.FromA == ev.FromA && (p.cseq == seq || ev.before && p.cseq < seq && !p.Offer) {
			a.release(p)
			if p.Offer {
				oa := offerAnswered{fromA: p.FromA, initial: p.Initial}
				if !ev.before && p.cseq == seq {
					oa.answer = ev.Req.Body()
				}
				answered = append(answered, oa)
			}
			continue
		}
		keep = append(keep, p)
	}
	a.pending = keep
	return answered
}

// DropPending forgets the 2xx waiting for an ACK from one leg: its BYE
// came first.
func (a *acks) DropPending(fromA bool) {
	keep := a.pending[:0]
	for _, p := range a.pending {
		if p.FromA == fromA {
			close(p.Done)
			continue
		}
		keep = append(keep, p)
	}
	a.pending = keep
}

// holdBye keeps bye for leg A (fromA) or B until the ACK of our 2xx to
// that leg comes or the wait gives up; false when no 2xx to that leg
// waits.
func (a *acks) holdBye(fromA bool, bye *sip.Request) bool {
	for _, p := range a.pending {
		if p.FromA == fromA {
			p.bye = bye
			return true
		}
	}
	return false
}

// byeAfterAck sends bye to leg A (fromA) or B now, or, while our 2xx to
// that leg waits for its ACK, once the ACK comes or the wait gives up: a
// UAS must not send BYE on a dialog before the ACK of its 2xx (RFC 3261
// §15), and a phone that gets the BYE first does not know the dialog yet.
func (a *acks) byeAfterAck(fromA bool, bye *sip.Request) {
	if !a.holdBye(fromA, bye) {
		a.sendHeld(bye)
	}
}

// hasPending reports whether a 2xx waits for its ACK.
func (a *acks) hasPending() bool { return len(a.pending) > 0 }

// waitsOn reports whether a 2xx to leg A (toA) or B waits for its ACK.
func (a *acks) waitsOn(toA bool) bool {
	return slices.ContainsFunc(a.pending, func(p *Pending2xx) bool { return p.FromA == toA })
}

// next is when tick is next due, zero when nothing waits.
func (a *acks) next() time.Time {
	var next time.Time
	for _, p := range a.pending {
		t := p.deadline
		if !p.reliable && p.next.Before(t) {
			t = p.next
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// The call's side of its acks, on its actor.

// onTimer resends the 2xx due; one to the caller's INVITE never ACKed
// ends the call.
func (c *Call) onTimer() {
	c.acks.tick(func() {
		if c.State == StAnswered {
			c.Hangup("system", "no ack")
		}
		c.CloseAFinal()
	})
}

// onAck takes an ACK (or a later request standing for it) from a leg; the
// answer in the ACK of a 2xx that carried our offer goes on.
func (c *Call) onAck(ev *AckEvent) {
	for _, oa := range c.acks.acked(ev) {
		switch {
		case c.State != StAnswered:
		case oa.initial:
			c.lateAnswer(oa.answer)
		default:
			c.ReofferAnswered(oa.fromA, oa.answer)
		}
	}
}

// OKResponse is our 2xx to req, an INVITE of one of the call's legs,
// with body, our SDP, unless nil.
func (a *acks) OKResponse(req *sip.Request, body []byte, contact sip.ContactHeader) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(sip.HeaderClone(&contact))
	res.AppendHeader(sip.NewHeader("Allow", dial.Allowed))
	res.AppendHeader(sip.NewHeader("Server", a.userAgent))
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

// ResendUntilAcked is pending2xx for the PBX's own dialogs outside a call
// (a supervisor's monitor, a page's talker, a phone in its mailbox): it
// resends res on tx over an unreliable transport, T1 doubling to T2, until
// acked or stop closes or ctx ends (true), or 64·T1 pass without an ACK
// (false: the dialog is to end). A nil stop never closes.
func ResendUntilAcked(ctx context.Context, tx sip.ServerTransaction, res *sip.Response, reliable bool,
	acked, stop <-chan struct{}) bool {
	interval := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	for {
		var tick <-chan time.Time
		if !reliable {
			tick = time.After(interval)
		}
		select {
		case <-acked:
			return true
		case <-stop:
			return true
		case <-ctx.Done():
			return true
		case <-deadline.C:
			return false
		case <-tick:
			_ = tx.Respond(res)
			interval = min(2*interval, sip.T2)
		}
	}
}
