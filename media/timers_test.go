package media

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"
)

// The relays' timers start no goroutine when they fire: one goroutine
// serves them all. With a time.AfterFunc each, every firing started one:
// a watchdog's each second, about two a call.
func TestRelayTimersFireOnOneGoroutine(t *testing.T) {
	const timers, fires = 100, 5
	var wg sync.WaitGroup
	wg.Add(timers)
	g0 := goroutinesCreated()
	for range timers {
		n := 0
		var tm timer
		tm = realClock{}.NewTimer(func(time.Time) {
			if n++; n < fires {
				tm.Reset(time.Millisecond)
				return
			}
			wg.Done()
		})
		tm.Reset(time.Millisecond)
	}
	wg.Wait()
	// The heap's goroutine, started again each time it ran out of timers.
	if g := goroutinesCreated() - g0; g > timers/10 {
		t.Errorf("%d timers fired %d times each: %d goroutines started", timers, fires, g)
	}
}

// A timer fires no sooner than it was armed for, in order with the
// others; Stop takes it out, and Reset of an armed one moves it.
func TestRelayTimersOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	fired := make(chan struct{}, 8)
	timers := map[string]*heapTimer{}
	for _, name := range []string{"c", "stopped", "a", "moved", "b"} {
		timers[name] = relayTimers.newTimer(func(now time.Time) {
			relayTimers.mu.Lock()
			if when := timers[name].when; now.Before(when) {
				t.Errorf("%s fired at %s, before %s", name, now, when)
			}
			relayTimers.mu.Unlock()
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			fired <- struct{}{}
		})
	}
	for name, d := range map[string]time.Duration{"c": 6, "stopped": 1, "a": 2, "moved": 1, "b": 4} {
		if timers[name].Reset(d * time.Millisecond) {
			t.Errorf("%s: Reset of a new timer reports it armed", name)
		}
	}
	if !timers["stopped"].Stop() || timers["stopped"].Stop() {
		t.Error("Stop: want true, then false")
	}
	if !timers["moved"].Reset(8 * time.Millisecond) {
		t.Error("Reset of an armed timer reports it was not")
	}
	// The order they are due in, as the heap has it.
	want := []string{"a", "b", "c", "moved"}
	relayTimers.mu.Lock()
	slices.SortFunc(want, func(x, y string) int { return timers[x].when.Compare(timers[y].when) })
	relayTimers.mu.Unlock()
	for range want {
		<-fired
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, want) {
		t.Fatalf("fired %v, want %v (the order they were due in)", order, want)
	}
}

// The heap's goroutine ends once its last timer is stopped, not when that
// timer would have fired: a server with no call keeps no goroutine for
// them (TestRelayCloseReleasesEverything counts the package's).
func TestRelayTimersGoroutineEndsWithTheLastTimer(t *testing.T) {
	tm := relayTimers.newTimer(func(time.Time) { t.Error("a stopped timer fired") })
	tm.Reset(time.Hour)
	// Once another has fired, the goroutine waits for tm.
	fired := make(chan struct{})
	relayTimers.newTimer(func(time.Time) { close(fired) }).Reset(time.Millisecond)
	<-fired
	tm.Stop()
	for {
		relayTimers.mu.Lock()
		running := relayTimers.running
		relayTimers.mu.Unlock()
		if !running {
			return
		}
		runtime.Gosched()
	}
}

// A relay on the real clock times out: its watchdog's timer is the
// shared goroutine's, and the relay stops on a goroutine of its own.
func TestRelayMediaTimeoutOnTheRealClock(t *testing.T) {
	t.Parallel()
	r, done := newRelay(t, RelayConfig{Timeout: 40 * time.Millisecond})
	r.Arm()
	var te *TimeoutError
	if err := <-done; !errors.As(err, &te) || te.Silence < 40*time.Millisecond {
		t.Fatalf("Run = %v, want a media timeout after 40 ms or more", err)
	}
	<-r.Done()
}

// goroutinesCreated returns how many goroutines the process has started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
