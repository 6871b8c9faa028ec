package media

import (
	"bytes"
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
