package media

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// A ring given back comes out again silent, whatever it held: a recording
// must not start with the samples of the call before it.
func TestRingPoolSilence(t *testing.T) {
	var p ringPool
	rings := make([]*recorderRing, 3)
	for i := range rings {
		rings[i] = p.get()
		if !silent(rings[i]) {
			t.Fatalf("new ring %d is not silent", i)
		}
		for j := range rings[i] {
			rings[i][j] = byte(i + j)
		}
	}
	for _, r := range rings {
		p.put(r)
	}
	for i := range rings {
		r := p.get()
		if !silent(r) {
			t.Errorf("ring %d is not silent when handed out again", i)
		}
		r[len(r)-1] = 1 // writable again
	}
}

// Rings from the heap (where none can be mapped) go through the pool too.
func TestRingPoolHeapRing(t *testing.T) {
	var p ringPool
	r := new(recorderRing)
	r[0], r[len(r)-1] = 1, 2
	p.put(r)
	if got := p.get(); got != r || !silent(got) {
		t.Errorf("heap ring back: same %v, silent %v", got == r, silent(got))
	}
}

func silent(r *recorderRing) bool {
	return bytes.Count(r[:], []byte{0}) == len(r)
}

// A code ring decodes, slot for slot, what was placed in it (rotated or
// not) and silence where nothing was, in pieces that start and end
// anywhere; given back, it comes out again unheard.
func TestCodeRing(t *testing.T) {
	var p codeRingPool
	law := [2]*[256]int16{alawDecode, ulawDecode}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3 {
		c := p.get()
		var want [ringSize][2]int16 // a slot's samples, 0 where none was placed
		for range 200 {
			ch := rng.IntN(2)
			at := rng.Int64N(ringSize)
			n := min(1+rng.Int64N(300), ringSize-at)
			for i := at; i < at+n; i++ {
				code := byte(rng.IntN(256))
				c.codes[ch][i] = code
				want[i][ch] = law[ch][code]
			}
			c.hear(ch, at, n)
		}
		k := int64(0)
		if round > 0 {
			k = rng.Int64N(ringSize)
			c.rotate(k)
		}
		out := make([]byte, ringSize*frameBytes)
		for at := int64(0); at < ringSize; {
			n := min(1+rng.Int64N(700), ringSize-at)
			c.decode(out[at*frameBytes:], at, n, &law)
			at += n
		}
		for i := range int64(ringSize) {
			w := want[(i+k)&ringMask]
			l := int16(binary.LittleEndian.Uint16(out[i*frameBytes:]))
			r := int16(binary.LittleEndian.Uint16(out[i*frameBytes+2:]))
			if l != w[0] || r != w[1] {
				t.Fatalf("round %d: slot %d decodes to %d %d, want %d %d", round, i, l, r, w[0], w[1])
			}
		}
		if slices.ContainsFunc(c.heard[0][:], func(w uint64) bool { return w != 0 }) ||
			slices.ContainsFunc(c.heard[1][:], func(w uint64) bool { return w != 0 }) {
			t.Fatalf("round %d: slots still heard once decoded", round)
		}
		c.hear(0, 5, 100)
		p.put(c)
		if got := p.get(); got.codes != c.codes || *got.heard != [2][ringSize / 64]uint64{} {
			t.Fatalf("round %d: ring back from the pool: same %v, heard %v", round, got.codes == c.codes, *got.heard != [2][ringSize / 64]uint64{})
		} else {
			p.put(got)
		}
	}
}
