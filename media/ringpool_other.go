//go:build !linux

package media

// Elsewhere than on Linux the rings are on the Go heap.

type ringArena struct{}

// grow adds a ring to the free list.
func (p *ringPool) grow() { p.free = append(p.free, new(recorderRing)) }

// silence clears r.
func (p *ringPool) silence(r *recorderRing) { clear(r[:]) }
