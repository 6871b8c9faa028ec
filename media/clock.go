package media

import "time"

// clock is the relay's time source; tests replace it to drive the media
// timeout and re-latching without waiting.
type clock interface {
	Now() time.Time
	// NewTicker returns a channel of ticks every d and a function that stops it.
	NewTicker(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
