package call

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// A leg changing hands: the operations that the features moving a party
// onto a leg use (blind and attended transfer, park and its retrieval,
// pickup and INVITE with Replaces). The dialog of the party that left is
// remembered (admission.leave, legadmit.go: its late requests are answered),
// the requests it still gets go out one after the other (outbox),
// the bridge takes the party that stayed off hold and has the leg's relay
// source latch again (reinvite.go), and the CDR row is split at the join
// (callRecord.joinCDR). The call's methods here join those parts.

// outbox sends the call's requests whose answers the call does not wait
// for: a BYE (sendBye), and the requests to a party leaving the call (a
// transferor's NOTIFYs and BYE), one after the other (sendInOrder). It is
// the call's part, embedded in it: only the call's actor calls sendInOrder
// and afterChain, whose goroutines only send and post, and sendBye, run
// off the actor, reads only what is fixed when the call is made.
type outbox struct {
	last chan struct{} // the last request of sendInOrder is done
	wg   *sync.WaitGroup
	send func(ctx context.Context, req *sip.Request) (*sip.Response, error)
	// start starts a request's transaction, for the actor to read.
	start func(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error)
	tell  func(ev any) bool // posts to the call's actor (mailbox.post)
	log   *slog.Logger
	// byes are the BYEs of an ending call whose answers the actor reads
	// as it ends (awaitByes); byesRead: it has, later ones go as before.
	byes     []sentBye
	byesRead bool
}

// sentBye is a BYE's transaction and when the wait for its answer ends.
type sentBye struct {
	tx    sip.ClientTransaction
	until time.Time
}

// AfterChain posts ev to the call once the requests of sendInOrder so far
// are done.
func (ob *outbox) AfterChain(ev any) {
	prev := ob.last
	ob.wg.Go(func() {
		if prev != nil {
			<-prev
		}
		ob.tell(ev)
	})
}

// SendInOrder sends requests of one dialog one after the other, after
// those of earlier calls, each once answered or timed out.
func (ob *outbox) SendInOrder(reqs ...*sip.Request) {
	prev := ob.last
	done := make(chan struct{})
	ob.last = done
	ob.wg.Go(func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		for _, r := range reqs {
			ctx, cancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
			res, err := ob.send(ctx, r)
			cancel()
			if err != nil {
				ob.log.Debug("request to transferor not answered", "method", string(r.Method), "err", err)
			} else if !res.IsSuccess() {
				ob.log.Debug("request to transferor refused", "method", string(r.Method), "status", res.StatusCode)
			}
		}
	})
}

// ReplacedLeg returns the leg of an answered call that r names.
func (c *Call) ReplacedLeg(r Replaces) (isA, ok bool) {
	if c.State != StAnswered {
		return false, false
	}
	return c.LegNamed(r.names)
}

// Idle reports whether the call has no transaction of its own open that a
// change of legs would break.
func (c *Call) Idle() bool { return c.IdleBut(true) && !c.waitsOn(true) }

// IdleBut is idle, except that the 2xx of leg fromA may still wait for its
// ACK: that leg is about to go.
func (c *Call) IdleBut(fromA bool) bool {
	return !c.Rooms.TransactionOpen() && !c.Transacting() && !c.NeedAnswer && !c.waitsOn(!fromA)
}

// JoinCDR ends the call's row and starts one between the party that stayed
// and who, the party on leg toA now (callRecord.joinCDR).
func (c *Call) JoinCDR(started time.Time, who Party, dialed, endReason, reason string, toA bool) {
	c.callRecord.joinCDR(c.LegDialog(!toA).CallID, started, who, dialed, endReason, reason, toA)
}

// byeOffActor sends bye (sendBye) off the actor, which does not wait.
func (ob *outbox) byeOffActor(bye *sip.Request) { ob.wg.Go(func() { ob.SendBye(bye) }) }

// sendBye sends bye without waiting for its answer. A call that is over
// reads the answer itself as it ends (awaitByes), where it waited for the
// goroutine of byeOffActor anyway: one goroutine less for most calls.
func (c *Call) sendBye(bye *sip.Request) {
	if c.State != StEnded || c.outbox.byesRead {
		c.byeOffActor(bye)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
	tx, err := c.outbox.start(ctx, bye)
	cancel()
	if err != nil {
		c.outbox.log.Debug("bye not answered", "err", err)
		return
	}
	c.outbox.byes = append(c.outbox.byes, sentBye{tx: tx, until: time.Now().Add(leg.ByeTimeout)})
}

// awaitByes waits for the answers of the BYEs sendBye sent, each at most
// leg.ByeTimeout after it went, as SendBye does.
func (ob *outbox) awaitByes() {
	for _, b := range ob.byes {
		t := time.NewTimer(time.Until(b.until))
		err := awaitFinal(b.tx, t.C)
		t.Stop()
		b.tx.Terminate()
		if err != nil {
			ob.log.Debug("bye not answered", "err", err)
		}
	}
	ob.byes, ob.byesRead = nil, true
}

// awaitFinal waits for tx's final response, its end or expired.
func awaitFinal(tx sip.ClientTransaction, expired <-chan time.Time) error {
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return nil
			}
		case <-tx.Done():
			return tx.Err()
		case <-expired:
			return context.DeadlineExceeded
		}
	}
}

// SendBye sends bye and waits for its answer, at most leg.ByeTimeout: run it
// off the actor.
func (ob *outbox) SendBye(bye *sip.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
	defer cancel()
	if _, err := ob.send(ctx, bye); err != nil {
		ob.log.Debug("bye not answered", "err", err)
	}
}
