package media

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
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

// A code ring decodes, slot for slot, what was placed in it and silence
// where nothing was, in pieces that start and end anywhere; given back,
// it comes out again unheard.
func TestCodeRing(t *testing.T) {
	var p codeRingPool
	law := [2]*[256]int16{alawDecode, ulawDecode}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3 {
		c := p.get()
		var want [codeRingSize][2]int16 // a slot's samples, 0 where none was placed
		for range 200 {
			ch := rng.IntN(2)
			at := rng.Int64N(codeRingSize)
			n := min(1+rng.Int64N(300), codeRingSize-at)
			for i := at; i < at+n; i++ {
				code := byte(rng.IntN(256))
				c.codes[ch][i] = code
				want[i][ch] = law[ch][code]
			}
			c.hear(ch, at, n)
		}
		out := make([]byte, codeRingSize*frameBytes)
		for at := int64(0); at < codeRingSize; {
			n := min(1+rng.Int64N(700), codeRingSize-at)
			c.decode(out[at*frameBytes:], at, n, &law)
			at += n
		}
		for i := range int64(codeRingSize) {
			w := want[i]
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
		if got := p.get(); got.codes != c.codes || *got.heard != [2][codeRingSize / 64]uint64{} {
			t.Fatalf("round %d: ring back from the pool: same %v, heard %v", round, got.codes == c.codes, *got.heard != [2][codeRingSize / 64]uint64{})
		} else {
			p.put(got)
		}
	}
}

// A recording held as codes, widened or not along the way, is byte for
// byte the one a recorder holding 16-bit frames from the start makes,
// whatever the codes' ring size and the law changes' place against its
// blocks: widening writes the final blocks the smaller ring cannot hold
// and moves the rest slot by slot, early in the call (before the file's
// origin is set) as later.
func TestRecorderCodesAsWide(t *testing.T) {
	t.Parallel()
	for seed := range uint64(24) {
		rng := rand.New(rand.NewPCG(seed, 3))
		a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, seq: 100, ts: 5000, packets: 300}
		b := stream{leg: LegB, codec: PCMA, freq: 1000, ssrc: 2, seq: 7, ts: 9, start: time.Duration(rng.IntN(40)) * time.Millisecond, packets: 300}
		ev := append(a.tone(), b.tone()...)
		// A change of law on one leg: in its first 300 ms (before the
		// file's origin is set, or about then), later, or none.
		var from int
		switch seed % 3 {
		case 0:
			from = 1 + rng.IntN(15)
		case 1:
			from = 15 + rng.IntN(285)
		case 2:
			from = 300
		}
		leg := ev[300*int(seed%2) : 300*int(seed%2+1)]
		for i := from; i < len(leg); i++ {
			leg[i].p.PayloadType ^= uint8(PCMU ^ PCMA)
		}
		jitter(ev, seed, time.Duration(1+rng.IntN(150))*time.Millisecond)
		for i := range ev { // a few packets sent early by the phone's clock
			if rng.IntN(20) == 0 {
				ev[i].p.Arrival = ev[i].p.Arrival.Add(-time.Duration(rng.IntN(60)) * time.Millisecond)
			}
		}
		if seed%4 == 0 {
			// Comfort noise first, on both legs, for longer than the
			// jitter window: the first sample placed is well after the
			// timeline's start.
			for i, cn := range (stream{codec: 13, ssrc: 3, packets: 40}).tone() {
				cn.leg = Leg(i % 2)
				cn.p.Arrival = cn.p.Arrival.Add(-time.Second)
				ev = append(ev, cn)
			}
		}
		record := func(wide bool) []byte {
			f := new(memFile)
			rec, err := newRecorder(f, RecorderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if wide {
				rec.ring = recorderRings.get()
			}
			feed(rec, slices.Clone(ev))
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			return f.b
		}
		if got, want := record(false), record(true); !bytes.Equal(got, want) {
			t.Errorf("seed %d: %d bytes held as codes, %d as 16-bit frames: the recordings differ", seed, len(got), len(want))
		}
	}
}

// memFile is a wavFile in memory.
type memFile struct{ b []byte }

func (m *memFile) Write(b []byte) (int, error) {
	m.b = append(m.b, b...)
	return len(b), nil
}

func (m *memFile) WriteAt(b []byte, off int64) (int, error) {
	if n := off + int64(len(b)); n > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, n-int64(len(m.b)))...)
	}
	return copy(m.b[off:], b), nil
}

func (m *memFile) Sync() error  { return nil }
func (m *memFile) Close() error { return nil }

// BenchmarkCodeRingDecode decodes a code ring whose every slot was heard
// on both channels, a block of 16 KiB at a time, as a recording's drain
// does: ns/op is per frame.
func BenchmarkCodeRingDecode(b *testing.B) {
	var p codeRingPool
	c := p.get()
	defer p.put(c)
	law := [2]*[256]int16{ulawDecode, alawDecode}
	var out outBuf
	for ch := range c.codes {
		for i := range c.codes[ch] {
			c.codes[ch][i] = byte(i * (ch + 3))
		}
	}
	b.ReportAllocs()
	at := int64(0)
	for b.Loop() {
		c.hear(0, at, codeBlockFrames)
		c.hear(1, at, codeBlockFrames)
		c.decode(out[:], at, codeBlockFrames, &law)
		at = outBufFrames - at // the ring's start, then round its end
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*codeBlockFrames), "ns/frame")
}
