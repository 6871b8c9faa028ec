package sip

// The bridge's taps: services that listen on the relay of every answered
// call (recording, record.go). The core names none: it tells the taps the
// b2bua holds when a call's legs are joined, before the answer goes out
// (so that a tap hears the first words), once the answer went, and after
// the relay has stopped at teardown. A feature that answers a call itself
// (a pickup, a queue's agent, a menu's target) tells them the same.

// bridgeTap listens on the relays of calls; it runs on the call's
// goroutine and keeps its state on the call as a room.
type bridgeTap interface {
	tapJoined(c *call)
	tapAnswered(c *call)
	tapClosed(c *call)
}

// bridgeJoined tells the taps that the call's legs are joined, before
// the answer goes out.
func (c *call) bridgeJoined() {
	for _, t := range c.b.taps {
		t.tapJoined(c)
	}
}

// bridgeAnswered tells the taps that the answer went.
func (c *call) bridgeAnswered() {
	for _, t := range c.b.taps {
		t.tapAnswered(c)
	}
}

// bridgeClosed tells the taps that the relay has stopped.
func (c *call) bridgeClosed() {
	for _, t := range c.b.taps {
		t.tapClosed(c)
	}
}
