package media

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the recorders' rings are carved from arenas of anonymous
// memory mapped for them (mmap(2)), outside the Go heap: the collector
// neither scans them nor counts them toward its target. A ring given back
// has its pages returned to the kernel (madvise(2) MADV_DONTNEED), so the
// pool's free rings take no resident memory, and the kernel hands the
// pages back zeroed, silent, at the ring's next use. The arenas themselves
// are kept: what they reserve is address space, not memory.

// ringsPerArena is how many rings an arena holds: 64 rings, 1 MiB.
const ringsPerArena = 64

// ringArena is one mapping rings were carved from.
type ringArena struct {
	mem []byte
}

func (a ringArena) holds(r *recorderRing) bool {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(a.mem)))
	at := uintptr(unsafe.Pointer(r))
	return at >= start && at < start+uintptr(len(a.mem))
}

// grow adds an arena's rings to the free list; where no memory can be
// mapped, a ring from the Go heap.
func (p *ringPool) grow() {
	const size = int(unsafe.Sizeof(recorderRing{}))
	mem, err := unix.Mmap(-1, 0, ringsPerArena*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		p.free = append(p.free, new(recorderRing))
		return
	}
	// Rings are returned a few pages at a time: a huge page would be
	// split at the first one.
	_ = unix.Madvise(mem, unix.MADV_NOHUGEPAGE)
	p.arenas = append(p.arenas, ringArena{mem: mem})
	for i := ringsPerArena - 1; i >= 0; i-- {
		p.free = append(p.free, (*recorderRing)(mem[i*size:(i+1)*size]))
	}
}

// silence makes r all zero: an arena's ring by giving its pages back to
// the kernel, which maps zeroed ones at the next write; a heap ring (or
// one the kernel would not take) by clearing it.
func (p *ringPool) silence(r *recorderRing) {
	for _, a := range p.arenas {
		if a.holds(r) {
			if unix.Madvise(r[:], unix.MADV_DONTNEED) == nil {
				return
			}
			break
		}
	}
	clear(r[:])
}

// codeArena is one mapping code rings were carved from: ringsPerArena
// rings' codes, a page multiple each, then their heard bits.
type codeArena struct {
	mem []byte
}

// grow adds an arena's code rings to the free list; where no memory can
// be mapped, a ring from the Go heap.
func (p *codeRingPool) grow() {
	const (
		codesSize = int(unsafe.Sizeof([2][codeRingSize]byte{}))
		heardSize = int(unsafe.Sizeof([2][codeRingSize / 64]uint64{}))
	)
	mem, err := unix.Mmap(-1, 0, ringsPerArena*(codesSize+heardSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		p.free = append(p.free, codeRing{codes: new([2][codeRingSize]byte), heard: new([2][codeRingSize / 64]uint64)})
		return
	}
	_ = unix.Madvise(mem, unix.MADV_NOHUGEPAGE)
	p.arenas = append(p.arenas, codeArena{mem: mem})
	heard := ringsPerArena * codesSize
	for i := ringsPerArena - 1; i >= 0; i-- {
		p.free = append(p.free, codeRing{
			codes: (*[2][codeRingSize]byte)(unsafe.Pointer(&mem[i*codesSize])),
			heard: (*[2][codeRingSize / 64]uint64)(unsafe.Pointer(&mem[heard+i*heardSize])),
		})
	}
}

// release gives the pages of an arena's ring's codes back to the kernel
// while the ring waits in the pool: the codes of a slot not heard do not
// matter, so they need not be cleared.
func (p *codeRingPool) release(r codeRing) {
	start := uintptr(unsafe.Pointer(r.codes))
	for _, a := range p.arenas {
		if s := uintptr(unsafe.Pointer(unsafe.SliceData(a.mem))); start >= s && start < s+uintptr(len(a.mem)) {
			_ = unix.Madvise(unsafe.Slice(&r.codes[0][0], len(r.codes)*codeRingSize), unix.MADV_DONTNEED)
			return
		}
	}
}
