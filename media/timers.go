package media

import (
	"container/heap"
	"context"
	"runtime/pprof"
	"sync"
	"time"
)

// The relays' timers (a running relay's watchdog, watchdog.go) are served
// by one goroutine for them all, not by a time.AfterFunc each: an
// AfterFunc starts a goroutine each time it fires, and a watchdog fires
// every second (tickFor), so about two goroutines a call under SIPp's
// calls of 2 s, ten thousand a second at a thousand calls. Here the
// armed timers wait in a heap by when they are due; one goroutine waits
// on a channel's time.Timer (which starts no goroutine) for the first of
// them, and calls each due timer's function in turn. It ends when no
// timer is armed, and the next Reset starts it again.

// relayTimers serves the timers of realClock.
var relayTimers timerHeap

// timerHeap is a set of timers served by one goroutine.
type timerHeap struct {
	mu      sync.Mutex
	q       timerQueue // armed, a heap by when
	running bool       // the goroutine runs
	wake    chan struct{}
}

// heapTimer is a timer of a timerHeap, as time.AfterFunc's but for the
// goroutine its function runs on: the heap's, shared, so the function
// must not block.
type heapTimer struct {
	h    *timerHeap
	f    func(time.Time)
	when time.Time // h.mu
	i    int       // index in h.q, -1 when not armed (h.mu)
}

func (h *timerHeap) newTimer(f func(time.Time)) *heapTimer {
	return &heapTimer{h: h, f: f, i: -1}
}

// Reset arms t to fire once after d, and reports whether it was armed.
func (t *heapTimer) Reset(d time.Duration) bool {
	h := t.h
	h.mu.Lock()
	defer h.mu.Unlock()
	t.when = time.Now().Add(d)
	armed := t.i >= 0
	if armed {
		heap.Fix(&h.q, t.i)
	} else {
		heap.Push(&h.q, t)
	}
	switch {
	case !h.running:
		h.running = true
		if h.wake == nil {
			h.wake = make(chan struct{}, 1)
		}
		go h.run()
	case t.i == 0: // due before the one the goroutine waits for
		h.poke()
	}
	return armed
}

// Stop disarms t, and reports whether it was armed; a call of its
// function under way goes on.
func (t *heapTimer) Stop() bool {
	h := t.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.i < 0 {
		return false
	}
	first := t.i == 0
	heap.Remove(&h.q, t.i)
	if first && len(h.q) == 0 {
		// The goroutine waits for t: it ends now rather than then.
		h.poke()
	}
	return true
}

// poke has the goroutine look at the heap again; h.mu is held.
func (h *timerHeap) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// run is the heap's goroutine: it calls the due timers' functions, then
// waits for the next to be due, or for one armed earlier.
func (h *timerHeap) run() {
	// Not a call's goroutine, whoever armed the first timer.
	pprof.SetGoroutineLabels(context.Background())
	wait := time.NewTimer(time.Hour)
	defer wait.Stop()
	var due []*heapTimer
	for {
		h.mu.Lock()
		now := time.Now()
		for len(h.q) > 0 && !h.q[0].when.After(now) {
			due = append(due, heap.Pop(&h.q).(*heapTimer))
		}
		if len(due) == 0 && len(h.q) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		next := time.Duration(-1)
		if len(h.q) > 0 {
			next = h.q[0].when.Sub(now)
		}
		h.mu.Unlock()
		for _, t := range due {
			t.f(now)
		}
		clear(due)
		due = due[:0]
		if next < 0 {
			continue // only due timers: whether they were armed again
		}
		wait.Reset(next)
		select {
		case <-wait.C:
		case <-h.wake:
		}
	}
}

// timerQueue is the armed timers as container/heap keeps them.
type timerQueue []*heapTimer

func (q timerQueue) Len() int           { return len(q) }
func (q timerQueue) Less(i, j int) bool { return q[i].when.Before(q[j].when) }

func (q timerQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].i, q[j].i = i, j
}

func (q *timerQueue) Push(x any) {
	t := x.(*heapTimer)
	t.i = len(*q)
	*q = append(*q, t)
}

func (q *timerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	t.i = -1
	return t
}
