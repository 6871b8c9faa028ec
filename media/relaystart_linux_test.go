package media

import (
	"runtime"
	"testing"
	"time"
)

// TestRelayStartHoldsNoGoroutine: a started relay, its media timeout
// armed, costs no goroutine while it runs; its sockets are the pollers'
// and its watchdog a timer. Without t.Parallel, so that the count is
// this test's alone.
func TestRelayStartHoldsNoGoroutine(t *testing.T) {
	const n = 50
	pool := testPool(t, 2*n+2)
	start := func() *Relay {
		r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback, Timeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		return r
	}
	start().Close() // the pollers start with the first relay, and stay
	before := runtime.NumGoroutine()
	relays := make([]*Relay, n)
	for i := range relays {
		relays[i] = start()
	}
	if grew := runtime.NumGoroutine() - before; grew >= n/5 {
		t.Errorf("%d relays started: %d goroutines more", n, grew)
	}
	for _, r := range relays {
		r.Close()
	}
}
