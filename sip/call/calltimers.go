package call

import "time"

// callTimers are the clocks of a call's actor: the ring time of its
// targets, the wake-up for whatever is due next (a 2xx to resend, a
// silent trunk to give up, a room's deadline, the end of lingering) and,
// once the call ended, until when it waits for its forks' last answers.
// It is the call's part, embedded in it; only the call's actor touches
// it, and the timers exist only while the actor runs.
type callTimers struct {
	ringTimer *time.Timer // the targets ring until it fires
	due       *time.Timer // wakes the actor for the next thing due (call.schedule)
	Linger    time.Time   // when ending: give the forks until then
	// stopShutdown stops the server's shutdown posting to the actor.
	stopShutdown func() bool
}

// startTimers starts the ring time, ring long, as the actor starts.
func (t *callTimers) startTimers(ring time.Duration) {
	t.ringTimer = time.NewTimer(ring)
	t.due = time.NewTimer(time.Hour)
}

// stopTimers stops both timers as the actor ends.
func (t *callTimers) stopTimers() {
	t.ringTimer.Stop()
	t.due.Stop()
}

// ActorRunning reports whether the actor runs (its timers exist).
func (t *callTimers) ActorRunning() bool { return t.ringTimer != nil }

// RingAgain starts the ring time over, ring long (a forward's new
// targets).
func (t *callTimers) RingAgain(ring time.Duration) { resetTimer(t.ringTimer, ring) }

// wakeAt has the actor woken at next; zero leaves the wake-up as it is.
func (t *callTimers) wakeAt(next time.Time) {
	if !next.IsZero() {
		resetTimer(t.due, max(time.Until(next), time.Millisecond))
	}
}

// lingerOver reports whether the time given to the forks of an ended call
// is up.
func (t *callTimers) lingerOver() bool {
	return !t.Linger.IsZero() && !time.Now().Before(t.Linger)
}

// resetTimer sets tm to fire after d, dropping a tick it had not
// delivered.
func resetTimer(tm *time.Timer, d time.Duration) {
	if !tm.Stop() {
		select {
		case <-tm.C:
		default:
		}
	}
	tm.Reset(d)
}
