//go:build !linux

package media

// Elsewhere than on Linux the rings are on the Go heap.

type ringArena struct{}

// grow adds a ring to the free list.
func (p *ringPool) grow() { p.free = append(p.free, new(recorderRing)) }

// silence clears r.
func (p *ringPool) silence(r *recorderRing) { clear(r[:]) }

type codeArena struct{}

// grow adds a code ring to the free list.
func (p *codeRingPool) grow() {
	p.free = append(p.free, codeRing{codes: new([2][codeRingSize]byte), heard: new([2][codeRingSize / 64]uint64)})
}

// release does nothing: the codes of a slot not heard do not matter.
func (p *codeRingPool) release(codeRing) {}
