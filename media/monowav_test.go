package media

import (
	"path/filepath"
	"testing"
	"time"
)

// A voicemail message's file is byte for byte what it was when these sums
// were taken, gaps, jumps, a new SSRC, late packets and the length limit
// reached inside a packet included: how the samples are written may
// change, not what.
func TestMonoRecorderBytes(t *testing.T) {
	tone := Tone(440, 2000, -6).Samples()
	tests := []struct {
		name string
		max  time.Duration
		want string
	}{
		{"no limit", 0, "c21fd50f1d3a39a0e507a5e81d73ad02b3f4084ece01d4ecef69faa95d17b5c9"},
		{"limit inside a packet", 1210 * time.Millisecond, "69a5a46aac1a3b68fda8fd86596c4df4f96f08a6abb1cf04d07b186f41abddcd"},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "msg.wav")
		rec, err := NewMonoRecorder(path, tt.max)
		if err != nil {
			t.Fatal(err)
		}
		ts := uint32(1000)
		for i := range 60 {
			switch {
			case i == 10: // lost: silence in its place
			case i == 20: // a gap of 1.5 s, filled with silence
				ts += 12000
				rec.Audio(7, ts+uint32(i*frameSamples), tone[i*frameSamples:(i+1)*frameSamples])
			case i == 30: // a jump beyond maxGap: carries on from the file's end
				ts += 9 * sampleRate
				rec.Audio(7, ts+uint32(i*frameSamples), tone[i*frameSamples:(i+1)*frameSamples])
			case i == 40: // a new SSRC, timestamps of its own
				ts = 77 - uint32(i*frameSamples)
				rec.Audio(8, ts+uint32(i*frameSamples), tone[i*frameSamples:(i+1)*frameSamples])
			case i > 40 && i%7 == 0: // late: half of it was written already
				rec.Audio(8, ts+uint32(i*frameSamples)-80, tone[i*frameSamples:(i+1)*frameSamples])
			default:
				rec.Audio(uint32(7+min(i/40, 1)), ts+uint32(i*frameSamples), tone[i*frameSamples:(i+1)*frameSamples])
			}
		}
		if n, got := closedFileSum(t, rec, path); got != tt.want {
			t.Errorf("%s: %d bytes, sha256 %s, want %s", tt.name, n, got, tt.want)
		}
	}
}

// BenchmarkMonoRecorder is a voicemail message's cost a 20 ms packet.
func BenchmarkMonoRecorder(b *testing.B) {
	rec, err := NewMonoRecorder(filepath.Join(b.TempDir(), "msg.wav"), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	frame := Tone(440, 20, -6).Samples()
	b.ReportAllocs()
	ts := uint32(0)
	for b.Loop() {
		rec.Audio(7, ts, frame)
		ts += frameSamples
	}
}
