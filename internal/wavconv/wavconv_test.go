package wavconv

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/switchboard-pbx/switchboard/media"
)

// dominantFreq estimates the frequency of a tone from its zero crossings.
func dominantFreq(s []int16) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(s)) / sampleRate)
}

// power returns the power of freq in x (sampled at rate), normalised by
// its length (Goertzel).
func power(x []int16, freq, rate float64) float64 {
	if len(x) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(x))
	return (s1*s1 + s2*s2 - coeff*s1*s2) / (n * n)
}

// makeWAV builds a WAV of format (1 PCM, 3 float) with chans channels of
// the same sine at freq, each sample written by put.
func makeWAV(format, chans, rate, bits int, secs, freq float64) []byte {
	le := binary.LittleEndian
	frames := int(secs * float64(rate))
	var data []byte
	for i := range frames {
		v := 0.5 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		for range chans {
			switch {
			case format == 3:
				data = le.AppendUint32(data, math.Float32bits(float32(v)))
			case bits == 8:
				data = append(data, byte(int(v*127)+128))
			case bits == 16:
				data = le.AppendUint16(data, uint16(int16(v*32767)))
			case bits == 24:
				s := int32(v * (1<<23 - 1))
				data = append(data, byte(s), byte(s>>8), byte(s>>16))
			case bits == 32:
				data = le.AppendUint32(data, uint32(int32(v*(1<<31-1))))
			}
		}
	}
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, uint16(format))
	b = le.AppendUint16(b, uint16(chans))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*chans*bits/8))
	b = le.AppendUint16(b, uint16(chans*bits/8))
	b = le.AppendUint16(b, uint16(bits))
	b = append(b, "LIST\x04\x00\x00\x00INFO"...) // a chunk to skip
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	le.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		format, chans, rate, bits int
	}{
		{"8 kHz 16-bit mono", 1, 1, 8000, 16},
		{"44.1 kHz 16-bit stereo", 1, 2, 44100, 16},
		{"48 kHz float", 3, 1, 48000, 32},
		{"16 kHz 24-bit", 1, 2, 16000, 24},
		{"11.025 kHz 8-bit", 1, 1, 11025, 8},
		{"22.05 kHz 32-bit", 1, 6, 22050, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Convert(makeWAV(tc.format, tc.chans, tc.rate, tc.bits, 1, 440))
			if err != nil {
				t.Fatal(err)
			}
			c, err := media.ReadWAV(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("converted file does not read: %v", err)
			}
			if c.Len() < 7990 || c.Len() > 8000 {
				t.Errorf("%d samples for one second, want 8000", c.Len())
			}
			if f := dominantFreq(c.Samples()); math.Abs(f-440) > 5 {
				t.Errorf("tone at %.1f Hz, want 440", f)
			}
			if p := power(c.Samples(), 440, sampleRate); p < 1e6 {
				t.Errorf("440 Hz power %.0f: level lost", p)
			}
		})
	}
}

// TestConvertWAVFiltersAliases: a 6 kHz tone at 44.1 kHz is above what 8
// kHz can carry; without the low-pass it would fold to 2 kHz.
func TestConvertWAVFiltersAliases(t *testing.T) {
	out, err := Convert(makeWAV(1, 1, 44100, 16, 1, 6000))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := media.ReadWAV(bytes.NewReader(out))
	ref, _ := Convert(makeWAV(1, 1, 44100, 16, 1, 2000))
	r, _ := media.ReadWAV(bytes.NewReader(ref))
	if a, want := power(c.Samples(), 2000, sampleRate), power(r.Samples(), 2000, sampleRate); a > want/1000 {
		t.Errorf("6 kHz folded to 2 kHz at %.3g of a real 2 kHz tone's power", a/want)
	}
}

func TestConvertWAVRefuses(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":      nil,
		"not riff":   []byte("RIFX\x00\x00\x00\x00WAVE"),
		"no data":    makeWAV(1, 1, 8000, 16, 0, 440)[:44],
		"mp3 format": func() []byte { b := makeWAV(1, 1, 8000, 16, 0.1, 440); b[20] = 0x55; return b }(),
		"4 kHz":      makeWAV(1, 1, 4000, 16, 0.1, 440),
		"12 bits":    func() []byte { b := makeWAV(1, 1, 8000, 16, 0.1, 440); b[34] = 12; return b }(),
		"9 channels": makeWAV(1, 9, 8000, 16, 0.1, 440),
	} {
		if _, err := Convert(b); err == nil {
			t.Errorf("%s: converted", name)
		}
	}
}

// FuzzConvert: any bytes give a file ReadWAV reads, or an error; never
// a panic.
func FuzzConvert(f *testing.F) {
	f.Add(makeWAV(1, 2, 44100, 16, 0.01, 440))
	f.Add(makeWAV(3, 1, 48000, 32, 0.01, 440))
	f.Add(makeWAV(1, 1, 11025, 8, 0.01, 440))
	f.Add(makeWAV(1, 3, 16000, 24, 0.01, 440))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := Convert(b)
		if err != nil {
			return
		}
		c, err := media.ReadWAV(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("converted file does not read: %v", err)
		}
		if c.Len() > len(b) {
			t.Fatalf("%d samples from %d bytes", c.Len(), len(b))
		}
	})
}
