package media

import (
	"bytes"
	"testing"
)

// FuzzReadWAV: any bytes give a clip or an error, never a panic, and a
// clip never holds more than the data said.
func FuzzReadWAV(f *testing.F) {
	h := monoHeader(4)
	f.Add(append(h[:], 1, 2, 3, 4))
	h = wavHeader(8)
	f.Add(append(h[:], 1, 2, 3, 4, 5, 6, 7, 8))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ReadWAV(bytes.NewReader(b))
		if err == nil && 2*c.Len() > len(b) {
			t.Fatalf("%d samples from %d bytes", c.Len(), len(b))
		}
	})
}

// FuzzDTMFDetector: any payload gives at most one digit per timestamp.
func FuzzDTMFDetector(f *testing.F) {
	f.Add([]byte{5, 0x8a, 0, 160}, uint32(0))
	f.Add([]byte{}, uint32(1))
	f.Fuzz(func(t *testing.T, payload []byte, ts uint32) {
		var d DTMFDetector
		_, first := d.Packet(1, ts, payload)
		if _, again := d.Packet(1, ts, payload); again {
			t.Fatal("the same event twice")
		}
		if first && payload[0] > 15 {
			t.Fatalf("event %d is not DTMF", payload[0])
		}
	})
}
