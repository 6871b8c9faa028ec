package media

import "sync"

// recorderRing is a Recorder's ring of frames. A recording takes one at
// its first sample and gives it back at Close, so a call that is never
// heard holds none, and an ended one's serves the next.
type recorderRing [ringSize * frameBytes]byte

// recorderRings is where rings come from. On Linux they are carved from
// memory mapped outside the Go heap (ringpool_linux.go): a ring lives as
// long as its call and is most of what a recorded call holds, and on the
// heap it would count up to 1+GOGC/100 times in the process's resident
// memory, once live and again as the headroom the collector lets the heap
// grow by. Outside the heap it counts once, and while it waits in the
// pool, not at all.
var recorderRings ringPool

// ringPool is a free list of rings; a ring comes out silent (all zero).
// It is safe for concurrent use.
type ringPool struct {
	mu     sync.Mutex
	free   []*recorderRing
	arenas []ringArena // where the rings were carved from (ringpool_linux.go)
}

// get returns a silent ring.
func (p *ringPool) get() *recorderRing {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		p.grow()
	}
	r := p.free[len(p.free)-1]
	p.free[len(p.free)-1] = nil
	p.free = p.free[:len(p.free)-1]
	return r
}

// put takes back a ring that get returned, whatever it holds.
func (p *ringPool) put(r *recorderRing) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silence(r)
	p.free = append(p.free, r)
}
