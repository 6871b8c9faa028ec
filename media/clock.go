package media

import "time"

// clock is the relay's time source; tests replace it to drive the media
// timeout and re-latching without waiting.
type clock interface {
	Now() time.Time
	// NewTicker returns a channel of ticks every d and a function that stops it.
	NewTicker(d time.Duration) (<-chan time.Time, func())
	// NewTimer returns a stopped timer that calls f with the time each
	// time it fires once Reset armed it, on a goroutine that may serve
	// other timers too: f must not block.
	NewTimer(f func(now time.Time)) timer
}

// timer is a clock's timer, as time.AfterFunc's: Reset arms it to fire
// once after d, Stop disarms it (a call of f already under way goes on).
type timer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// NewTimer returns a timer of the relays' shared goroutine (timers.go).
func (realClock) NewTimer(f func(now time.Time)) timer { return relayTimers.newTimer(f) }
