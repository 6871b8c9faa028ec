package media

import (
	"slices"
	"sync"
)

// How a recording's pending frames sit in its ring (codes or 16-bit
// frames) and reach the file from it.

// blockEnd returns the position of the frame that starts the block of the
// file after the one pos is in: blocks of codeBlockFrames while the frames
// are codes, outBufFrames once they are 16-bit.
func (r *Recorder) blockEnd(pos int64) int64 {
	block := int64(codeBlockFrames)
	if r.ring != nil {
		block = outBufFrames
	}
	return r.base + (pos-r.base)&^(block-1) + block
}

// slots returns how many frames the ring the frames are in holds.
func (r *Recorder) slots() int64 {
	if r.ring != nil {
		return ringSize
	}
	return codeRingSize
}

// slot returns the ring slot of the frame at position pos.
func (r *Recorder) slot(pos int64) int64 {
	if r.ring != nil {
		return (pos - r.base) & ringMask
	}
	return codeSlot(pos)
}

// codeSlot returns the code ring slot of the frame at position pos, which
// may be before 0 until the origin is set. The codes stay where they were
// placed when base moves: a block of them is decoded to be written, in
// two pieces if it goes round the ring's end. (Rotating them as rebase
// does the 16-bit ring took about 24 µs a recording, 1.5% of
// BenchmarkRecordersCPU's time.)
func codeSlot(pos int64) int64 {
	if pos %= codeRingSize; pos < 0 {
		pos += codeRingSize
	}
	return pos
}

// rebase moves the 16-bit ring's frames so that the one at position base
// is in its first slot: rotated left, in place, by reversals.
func (r *Recorder) rebase(base int64) {
	k := ((base - r.base) & ringMask) * frameBytes
	r.base = base
	if r.ring == nil || k == 0 {
		return
	}
	slices.Reverse(r.ring[:k])
	slices.Reverse(r.ring[k:])
	slices.Reverse(r.ring[:])
}

// drain writes the frames from flushed to upto (at most written) to the
// file, straight from the ring, leaving their slots silent for the next
// lap. Frames past the last sample placed are silence already.
func (r *Recorder) drain(upto int64) {
	var out *outBuf // where codes are decoded to be written
	if r.ring == nil && r.flushed < upto {
		out = outBufs.Get().(*outBuf)
		defer outBufs.Put(out)
	}
	for r.flushed < upto && r.err == nil && !r.full {
		at := r.slot(r.flushed)
		if r.ring == nil {
			// A block of codes may go round the ring's end: it is decoded
			// in two pieces.
			run := min(upto-r.flushed, codeBlockFrames)
			frames := out[:run*frameBytes]
			first := min(run, codeRingSize-at)
			r.codes.decode(frames, at, first, &r.law)
			if first < run {
				r.codes.decode(frames[first*frameBytes:], 0, run-first, &r.law)
			}
			r.write(frames)
			r.flushed += run
			continue
		}
		run := min(upto-r.flushed, ringSize-at) // not round the ring's end
		frames := r.ring[at*frameBytes : (at+run)*frameBytes]
		r.write(frames)
		clear(frames)
		r.flushed += run
	}
}

// outBuf is where a block of frames held as codes is decoded to be
// written: 16 KiB, taken from outBufs for the write rather than held by
// each recording.
type outBuf [codeBlockFrames * frameBytes]byte

var outBufs = sync.Pool{New: func() any { return new(outBuf) }}

// widen moves the frames from codes to a ring of their own, decoded: the
// recording has met G.722 or a channel's change of law. That ring holds
// fewer frames than the codes' one: the whole 8 KiB blocks that are final
// are written first, and if what remains still does not fit (only timing
// no phone has), frames are made final early, as in place.
func (r *Recorder) widen() {
	if r.originSet {
		r.drain(r.base + (r.written-r.base)&^(outBufFrames-1))
	}
	last := max(r.ch[0].end, r.ch[1].end)
	if need := last - ringSize; need > r.flushed {
		r.flushTo(need)
		r.drain(r.written)
	}
	// The frames that may have been placed: from flushed, or until the
	// origin is set from the earliest sample placed (the rings map any
	// run of positions; flushTo left them within ringSize of last).
	from := r.flushed
	if !r.originSet {
		from = max(from, min(r.minPos, last))
	}
	w := recorderRings.get()
	// Piece by piece, none going round either ring's end; the code slots
	// outside them are not heard.
	for p, end := from, from+ringSize; p < end; {
		at, wat := codeSlot(p), (p-r.base)&ringMask
		run := min(end-p, codeRingSize-at, ringSize-wat)
		r.codes.decode(w[wat*frameBytes:], at, run, &r.law)
		p += run
	}
	r.ring = w
	codeRings.put(r.codes)
	r.codes = codeRing{}
}
