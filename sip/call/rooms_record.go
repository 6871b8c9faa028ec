package call

// The bridge's taps: services that listen on the relay of every answered
// call (recording, record.go). The core names none: it tells the taps the
// b2bua holds when a call's legs are joined, before the answer goes out
// (so that a tap hears the first words), once the answer went, and after
// the relay has stopped at teardown. A feature that answers a call itself
// (a pickup, a queue's agent, a menu's target) tells them the same.

// BridgeTap listens on the relays of calls; it runs on the call's
// goroutine and keeps its state on the call as a room.
type BridgeTap interface {
	TapJoined(c *Call)
	TapAnswered(c *Call)
	TapClosed(c *Call)
}

// Taps are the bridge's taps the b2bua holds, told in order.
type Taps []BridgeTap

// Joined tells the taps that c's legs are joined, before the answer goes
// out.
func (ts Taps) Joined(c *Call) {
	for _, t := range ts {
		t.TapJoined(c)
	}
}

// Answered tells the taps that c's answer went.
func (ts Taps) Answered(c *Call) {
	for _, t := range ts {
		t.TapAnswered(c)
	}
}

// closed tells the taps that c's relay has stopped.
func (ts Taps) closed(c *Call) {
	for _, t := range ts {
		t.TapClosed(c)
	}
}
