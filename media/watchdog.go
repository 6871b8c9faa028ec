package media

import "time"

// A running relay's media timeout is checked by a timer of the relay's
// own (clock.NewTimer), re-armed after each check, not by a goroutine
// waiting on a ticker: a call holds no goroutine for it. The timers of
// all the relays are served by one goroutine (timers.go), so that a check
// starts none either; a media timeout starts one, to stop the relay.

// watchTick is the relay's timer firing at now: it checks the legs, and
// stops the relay on a media timeout or else arms the timer again. It
// runs on the goroutine of every relay's timer, and must not block: the
// relay stops on a goroutine of its own (halt waits for its readers).
func (r *Relay) watchTick(now time.Time) {
	r.mu.Lock()
	running := r.state == stateRunning
	r.mu.Unlock()
	if !running {
		return
	}
	if err := r.dog.check(r, now); err != nil {
		r.log.Debug("media timeout", "err", err, "rtp_a", r.legs[LegA].ports.Port(), "rtp_b", r.legs[LegB].ports.Port())
		go r.halt(err)
		return
	}
	r.mu.Lock()
	if r.state == stateRunning { // not stopped meanwhile: a stopped timer stays stopped
		r.watch.Reset(tickFor(r.cfg.Timeout, r.cfg.HoldTimeout))
	}
	r.mu.Unlock()
}

// watchdog fires the media timeout, at each tick of the relay's timer
// (Relay.watchTick). Instead of
// stamping every packet with the time, it samples the legs' packet counts
// on each tick: a count that moved means RTP arrived since the last tick.
// Each leg's silence is measured on its own, against Timeout, or
// HoldTimeout while the leg is on hold; going on or off hold starts the
// leg's silence afresh.
type watchdog struct {
	seen     [2]time.Time // last tick at which the leg was active, or unarmed
	count    [2]uint64
	held     [2]bool
	wasArmed bool
}

// check looks at the legs at tick now and returns a *TimeoutError when
// one has been silent too long.
func (w *watchdog) check(r *Relay, now time.Time) error {
	armed := r.armed.Load()
	arming := armed && !w.wasArmed // silence counts from the first tick after Arm
	w.wasArmed = armed
	for i := range r.legs {
		l := &r.legs[i]
		n := l.packets()
		hold := l.hold.Load()
		if !armed || arming || hold != w.held[i] || n != w.count[i] || w.seen[i].IsZero() {
			w.seen[i], w.count[i], w.held[i] = now, n, hold
		}
		limit := r.cfg.Timeout
		if hold {
			limit = r.cfg.HoldTimeout
		}
		if silence := now.Sub(w.seen[i]); armed && limit > 0 && silence >= limit {
			return &TimeoutError{Leg: l.id, Hold: hold, Silence: silence}
		}
	}
	return nil
}

// tickFor returns how often the watchdog samples: a quarter of the shorter
// timeout, between 10 ms and 1 s, so it fires at most a quarter late.
func tickFor(timeout, hold time.Duration) time.Duration {
	if timeout <= 0 || (hold > 0 && hold < timeout) {
		timeout = hold
	}
	return min(max(timeout/4, 10*time.Millisecond), time.Second)
}
