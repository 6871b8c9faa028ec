package call

import (
	"sync/atomic"
	"time"
)

// The PBX's own share of a call's setup, apart from the phones': how long
// a caller's INVITE waits in the PBX before the callee's INVITE goes out
// (route: the digest check, the dial plan, the relay's ports), and how
// long the callee's 2xx waits before the caller's 2xx goes out (answer:
// the answer's SDP, the relay armed, the call row). A caller's post-dial
// delay is these two plus the callee's ringing and the network; under
// load a load generator's setup times mix in its own queues too, which
// these leave out. Measured from the moment the socket's reader took the
// message (wire.InviteTx.Arrived, wire.ClientTx.AnsweredAt), so the
// queues inside the PBX count; over UDP, whose transactions are our own.

// DelayBounds are the upper bounds of Delay's buckets: fine around the
// tens of milliseconds where a setup's share starts to show.
var DelayBounds = [...]time.Duration{
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
	3 * time.Millisecond, 5 * time.Millisecond, 7500 * time.Microsecond, 10 * time.Millisecond,
	15 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 50 * time.Millisecond,
	75 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second,
}

// Delay is a histogram of durations over DelayBounds, safe for concurrent
// use without a lock.
type Delay struct {
	buckets [len(DelayBounds) + 1]atomic.Uint64 // the last: above every bound
	count   atomic.Uint64
	sum     atomic.Int64 // nanoseconds
}

// Observe counts d; a negative d (a clock step) counts as zero.
func (h *Delay) Observe(d time.Duration) {
	d = max(d, 0)
	i := 0
	for i < len(DelayBounds) && d > DelayBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sum.Add(int64(d))
	h.count.Add(1)
}

// DelaySnapshot is a Delay at one moment: Cumulative[i] counts the
// durations up to DelayBounds[i], as Prometheus' buckets do.
type DelaySnapshot struct {
	Cumulative [len(DelayBounds)]uint64
	Count      uint64
	Sum        time.Duration
}

// Snapshot returns h's counts. Observations made meanwhile may show in
// some buckets and not yet in Count or Sum, never the other way round.
func (h *Delay) Snapshot() DelaySnapshot {
	var s DelaySnapshot
	s.Count = h.count.Load()
	s.Sum = time.Duration(h.sum.Load())
	var run uint64
	for i := range DelayBounds {
		run += h.buckets[i].Load()
		s.Cumulative[i] = min(run, s.Count)
	}
	return s
}

// SetupDelays are the route and answer histograms of the PBX's calls.
type SetupDelays struct {
	Route, Answer Delay
}

// arrived is what a server transaction of ours tells of its request.
type arrived interface{ Arrived() time.Time }

// answeredAt is what a client transaction of ours tells of its final
// response.
type answeredAt interface{ AnsweredAt() time.Time }

// routeDelay counts the route delay of c, whose forks were just sent: from
// the caller's INVITE to the first of them.
func (c *Call) routeDelay() {
	a, ok := c.ATx.(arrived)
	if !ok || len(c.Ring.Forks) == 0 || c.Ring.Forks[0].Sent.IsZero() {
		return
	}
	c.Core.Counters.Setup.Route.Observe(c.Ring.Forks[0].Sent.Sub(a.Arrived()))
}

// answerDelay counts the answer delay of c, whose 2xx to the caller just
// went: from the 2xx that came on tx.
func (c *Call) answerDelay(tx any) {
	a, ok := tx.(answeredAt)
	if !ok {
		return
	}
	if t := a.AnsweredAt(); !t.IsZero() {
		c.Core.Counters.Setup.Answer.Observe(time.Since(t))
	}
}
