package media

import (
	"encoding/binary"
	"sync"
)

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

// codeRing is a Recorder's ring while everything it was given is G.711,
// at half a recorderRing's memory: a frame slot is the two channels'
// code bytes, each channel's in a plane of its own (codes[0] left,
// codes[1] right), decoded and interleaved as the frames are written, and
// heard tells which of the channels' slots a sample was placed in. A slot
// not heard is silence (whatever code it holds): no A-law code decodes to
// silence, so the codes alone cannot say it.
//
// The planes make placing a packet a copy of its payload: with the codes
// interleaved (left, right) it was a loop storing every other byte, most
// of what the recorder cost a packet in user space, and a packet's codes
// spread over twice the cache lines (figures at Recorder.place).
type codeRing struct {
	codes *[2][codeRingSize]byte
	heard *[2][codeRingSize / 64]uint64
}

// codeRings is where code rings come from; on Linux carved from mapped
// memory as recorderRings are (ringpool_linux.go).
var codeRings codeRingPool

// codeRingPool is a free list of code rings; a ring comes out unheard
// (all silence). It is safe for concurrent use.
type codeRingPool struct {
	mu     sync.Mutex
	free   []codeRing
	arenas []codeArena
}

// get returns an unheard ring.
func (p *codeRingPool) get() codeRing {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		p.grow()
	}
	r := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return r
}

// put takes back a ring that get returned, whatever it holds.
func (p *codeRingPool) put(r codeRing) {
	clear(r.heard[:])
	p.mu.Lock()
	defer p.mu.Unlock()
	p.release(r)
	p.free = append(p.free, r)
}

// hear marks n slots of channel ch from slot at (not round the ring's end)
// as placed.
func (c codeRing) hear(ch int, at, n int64) {
	setBits(c.heard[ch][:], at, n, true)
}

// decode writes frames slots at..at+n (not round the ring's end) to out
// in the file's format, the channels' codes decoded by law (nil: nothing
// placed on that channel), and leaves the slots unheard.
func (c codeRing) decode(out []byte, at, n int64, law *[2]*[256]int16) {
	tl, tr := law[0], law[1]
	if tl == nil {
		tl = &silentLaw
	}
	if tr == nil {
		tr = &silentLaw
	}
	hl, hr := c.heard[0][:], c.heard[1][:]
	for i := at; i < at+n; {
		w, bit := i/64, i%64
		run := min(64-bit, at+n-i)
		wl, wr := hl[w]>>bit, hr[w]>>bit
		cl, cr := c.codes[0][i:i+run], c.codes[1][i:i+run]
		dst := out[(i-at)*frameBytes : (i-at+run)*frameBytes]
		if run == 64 && wl&wr == ^uint64(0) { // every slot heard, both channels
			// Two frames a store: BenchmarkCodeRingDecode 0.80 0.83 0.82
			// -> 0.70 0.74 0.70 ns a frame (alternated; four a loop gave
			// no more).
			cl, cr, dst := cl[:64], cr[:64], dst[:64*frameBytes]
			for j := 0; j < 64; j += 2 {
				v := uint64(uint16(tl[cl[j]])) | uint64(uint16(tr[cr[j]]))<<16 |
					uint64(uint16(tl[cl[j+1]]))<<32 | uint64(uint16(tr[cr[j+1]]))<<48
				binary.LittleEndian.PutUint64(dst[j*frameBytes:], v)
			}
		} else {
			for j := range run {
				l := tl[cl[j]] & -int16(wl>>j&1)
				r := tr[cr[j]] & -int16(wr>>j&1)
				binary.LittleEndian.PutUint32(dst[j*frameBytes:], uint32(uint16(l))|uint32(uint16(r))<<16)
			}
		}
		i += run
	}
	setBits(hl, at, n, false)
	setBits(hr, at, n, false)
}

// silentLaw decodes a channel nothing was placed on.
var silentLaw [256]int16

// setBits sets (or clears) bits from..from+n of words.
func setBits(words []uint64, from, n int64, on bool) {
	for n > 0 {
		w, bit := from/64, from%64
		run := min(64-bit, n)
		mask := ^uint64(0)
		if run < 64 {
			mask = (1<<run - 1) << bit
		}
		if on {
			words[w] |= mask
		} else {
			words[w] &^= mask
		}
		from, n = from+run, n-run
	}
}
