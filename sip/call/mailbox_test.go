package call

import (
	"sync"
	"testing"
)

// An actor that parks after each event takes every event posted, each
// on a goroutine the post started, one at a time and in order, from many
// posters at once.
func TestMailboxParkedActorTakesEveryEvent(t *testing.T) {
	const posters, each = 8, 500
	m := NewMailbox()
	var (
		mu      sync.Mutex
		running bool
		got     = make(map[int][]int)
		done    = make(chan struct{})
		total   int
	)
	var resume func()
	resume = func() {
		mu.Lock()
		if running {
			t.Error("two goroutines run the actor")
		}
		running = true
		mu.Unlock()
		<-m.Wake
		for _, ev := range m.TakeEvents() {
			e := ev.([2]int)
			got[e[0]] = append(got[e[0]], e[1])
			if total++; total == posters*each {
				close(done)
			}
		}
		mu.Lock()
		running = false
		mu.Unlock()
		if !m.park(resume) {
			resume() // events came meanwhile: on with them
		}
	}
	if !m.park(resume) {
		t.Fatal("an empty mailbox did not park")
	}
	var wg sync.WaitGroup
	for p := range posters {
		wg.Go(func() {
			for i := range each {
				m.Post([2]int{p, i})
			}
		})
	}
	wg.Wait()
	<-done
	for p := range posters {
		if len(got[p]) != each {
			t.Fatalf("poster %d: %d events taken, want %d", p, len(got[p]), each)
		}
		for i, v := range got[p] {
			if v != i {
				t.Fatalf("poster %d: event %d taken as %d: out of order", p, i, v)
			}
		}
	}
}

// BenchmarkMailboxPost posts to an actor that waits on its mailbox, as a
// call's actor does while a call is set up, and to one that parks after
// each event, as a held call's does: each post then starts a goroutine.
func BenchmarkMailboxPost(b *testing.B) {
	b.Run("waiting", func(b *testing.B) {
		m := NewMailbox()
		taken := make(chan struct{})
		go func() {
			for range m.Wake {
				for range m.TakeEvents() {
					taken <- struct{}{}
				}
			}
		}()
		for b.Loop() {
			m.Post(struct{}{})
			<-taken
		}
		close(m.Wake)
	})
	b.Run("parked", func(b *testing.B) {
		m := NewMailbox()
		taken := make(chan struct{})
		var resume func()
		resume = func() {
			<-m.Wake
			for range m.TakeEvents() {
				taken <- struct{}{}
			}
			if !m.park(resume) {
				resume()
			}
		}
		m.park(resume)
		for b.Loop() {
			m.Post(struct{}{})
			<-taken
		}
	})
}
