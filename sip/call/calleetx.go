package call

import (
	"log/slog"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// calleeTx is the callee's side of a call: the dialer that rings the
// callee's phones or the trunk, where leg B is now, the ACK of the
// answering fork's 2xx,
// and, when every fork failed, the next trunk or the best failure. It knows nothing of the caller; the dialog that the 2xx set up is
// the bridge's leg B (Legs[1]).
//
// It is the call's part, embedded in it so that the features reach the
// dialer and leg B's target as before. Only the call's actor touches it
// (the fork that won ACKs the retransmissions of its 2xx: dial.Fork.Ack).
type calleeTx struct {
	Ring dial.Dialer // the callee's phones, or the trunk
	// BTarget is where leg B is now: the answering fork's target, or a
	// transfer's.
	BTarget *route.Target
	// BAcked: the ACK of the winning fork's 2xx went (won.Ack: sent
	// again on each retransmission of the 2xx).
	BAcked bool
	won    *dial.Fork // the fork whose 2xx answered the call

	client *sipgo.Client
	log    *slog.Logger
}

// forkSays is what a response to one of the call's own forks means for
// the call.
type forkSays uint8

const (
	forkQuiet      forkSays = iota // stale, a 100, or dealt with by the fork
	forkRings                      // a provisional response while the call rings
	forkWon                        // the first 2xx while the call rings
	forksAllFailed                 // a failure, and every fork has failed
)

// forkResponse takes a response to fork f on tx, does the fork's part of
// it (a CANCEL held for a provisional response, an answer after another
// fork won, a digest challenge) and says what is left for the call, whose
// ringing is true while it rings.
func (ct *calleeTx) forkResponse(f *dial.Fork, tx sip.ClientTransaction, res *sip.Response, ringing bool) forkSays {
	if tx != f.Tx || f.Final != nil {
		return forkQuiet
	}
	f.Responded = true
	if res.IsProvisional() {
		if res.StatusCode == 100 {
			return forkQuiet
		}
		f.Provis = true
		if f.Cancelled {
			f.SendCancel()
			return forkQuiet
		}
		if !ringing {
			return forkQuiet
		}
		return forkRings
	}
	f.Final = res
	if res.IsSuccess() {
		if !ringing {
			f.AckAndBye(res) // another fork won, or the caller gave up
			return forkQuiet
		}
		return forkWon
	}
	if ringing && f.RetryAuth(res) {
		return forkQuiet
	}
	if ringing && ct.Ring.AllFailed() {
		return forksAllFailed
	}
	return forkQuiet
}

// answered makes f, whose 2xx came first, the fork that won: the others
// are cancelled, and each retransmission of f's 2xx is answered with our
// ACK once it went (ack).
func (ct *calleeTx) answered(f *dial.Fork) {
	ct.BTarget, ct.won = &f.Target, f
	ct.Ring.CancelAll(f)
}

// ack sends the ACK of the answering fork's 2xx on d, leg B's dialog, with
// body (the answer to a late offer) unless nil.
func (ct *calleeTx) ack(d *leg.Dialog, body []byte) {
	ct.BAcked = true
	ack := d.Request(sip.ACK)
	if body != nil {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody(body)
	}
	var err error
	if ct.won != nil {
		err = ct.won.Ack(ack) // and again on each retransmission of its 2xx
	} else {
		err = ct.client.WriteRequest(ack)
	}
	if err != nil {
		ct.log.Info("ack not sent", "err", err)
	}
}

// ackFork ACKs the 2xx that set up d, the dialog of fork f of a dialer
// other than the call's own (a feature's), now and on each retransmission.
func (ct *calleeTx) ackFork(f *dial.Fork, d *leg.Dialog) {
	if err := f.Ack(d.Request(sip.ACK)); err != nil {
		ct.log.Info("ack not sent", "err", err)
	}
}

// giveUpSilent gives up on the trunk fork that has sent nothing for wait
// while another trunk could take the ringing call: its transaction ends
// as if it timed out. It reports whether it gave one up.
func (ct *calleeTx) giveUpSilent(wait time.Duration) bool {
	f := ct.Ring.SilentTrunk()
	if f == nil || time.Since(f.Sent) < wait {
		return false
	}
	ct.log.Info("no response from trunk", "trunk", f.Target.Trunk.Label(), "wait", wait)
	f.Tx.Terminate()
	f.Final = sip.NewResponseFromRequest(f.Req, 408, "Request Timeout", nil)
	return true
}

// trunkDeadline is when the trunk fork that has sent nothing yet, while
// another trunk could take the call (dialer.silentTrunk), is given up
// after wait (giveUpSilent); zero when there is none.
func (ct *calleeTx) trunkDeadline(wait time.Duration) time.Time {
	if f := ct.Ring.SilentTrunk(); f != nil {
		return f.Sent.Add(wait)
	}
	return time.Time{}
}

// failOver goes on to the next trunk when every fork has failed and the
// last trunk failed over (failoverStatus), and reports whether it did:
// leg B's offer is then the dialer's new one. The failed trunk's early
// media is over: earlyOver tells the caller's side.
func (ct *calleeTx) failOver(rt *route.Route, earlyOver func()) bool {
	if len(ct.Ring.Spare) > 0 {
		earlyOver()
	}
	return ct.Ring.NextTrunk(rt)
}

// failure is the best of the forks' failures for the caller (RFC 3261
// §16.7: a 6xx first, then busy, then the others) and, for a 488 of the
// caller's offer aOffer (not late), the Warning of our response saying
// why ("": none).
func (ct *calleeTx) failure(late bool, realm string, aOffer []byte) (code int, reason string, disp directory.Disposition, warning string) {
	code, reason, disp = dial.BestFailure(ct.Ring.Forks)
	ct.log.Info("call failed", "status", code)
	if code == 488 && !late {
		warning = sdpneg.RefusedOfferWarning(realm, aOffer, ct.Ring.Offer)
	}
	return code, reason, disp, warning
}
