package media

import (
	"math"
	"testing"
)

// Reference values from the published G.711 decode tables (as in every
// μ-law/A-law implementation since Sun's g711.c).
func TestG711ReferenceValues(t *testing.T) {
	tests := []struct {
		name  string
		codec Codec
		code  byte
		want  int16
	}{
		{"pcmu 0x00 is the most negative", PCMU, 0x00, -32124},
		{"pcmu 0x01", PCMU, 0x01, -31100},
		{"pcmu 0x07", PCMU, 0x07, -24956},
		{"pcmu 0x7f is zero", PCMU, 0x7F, 0},
		{"pcmu 0x80 is the most positive", PCMU, 0x80, 32124},
		{"pcmu 0xf0", PCMU, 0xF0, 120},
		{"pcmu 0xfe", PCMU, 0xFE, 8},
		{"pcmu 0xff is zero", PCMU, 0xFF, 0},
		{"pcma 0x00", PCMA, 0x00, -5504},
		{"pcma 0x01", PCMA, 0x01, -5248},
		{"pcma 0x02", PCMA, 0x02, -6016},
		{"pcma 0x07", PCMA, 0x07, -4736},
		{"pcma 0x2a is the most negative", PCMA, 0x2A, -32256},
		{"pcma 0x55 is the smallest negative", PCMA, 0x55, -8},
		{"pcma 0xaa is the most positive", PCMA, 0xAA, 32256},
		{"pcma 0xd5 is the smallest positive", PCMA, 0xD5, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [1]int16
			tt.codec.Decode(got[:], []byte{tt.code})
			if got[0] != tt.want {
				t.Errorf("%s decode %#02x = %d, want %d", tt.codec, tt.code, got[0], tt.want)
			}
		})
	}

	enc := []struct {
		name   string
		codec  Codec
		sample int16
		want   byte
	}{
		{"pcmu zero", PCMU, 0, 0xFF},
		{"pcmu full scale positive", PCMU, 32767, 0x80},
		{"pcmu full scale negative", PCMU, -32768, 0x00},
		{"pcmu clips above 32124", PCMU, 32600, 0x80},
		{"pcma zero", PCMA, 0, 0xD5},
		{"pcma -1", PCMA, -1, 0x55},
		{"pcma full scale positive", PCMA, 32767, 0xAA},
		{"pcma full scale negative", PCMA, -32768, 0x2A},
	}
	for _, tt := range enc {
		t.Run(tt.name, func(t *testing.T) {
			var got [1]byte
			tt.codec.Encode(got[:], []int16{tt.sample})
			if got[0] != tt.want {
				t.Errorf("%s encode %d = %#02x, want %#02x", tt.codec, tt.sample, got[0], tt.want)
			}
		})
	}
}

// The tables must agree with the bit-level reference for every input.
func TestG711TablesMatchReference(t *testing.T) {
	for s := math.MinInt16; s <= math.MaxInt16; s++ {
		var u, a [1]byte
		PCMU.Encode(u[:], []int16{int16(s)})
		PCMA.Encode(a[:], []int16{int16(s)})
		if want := linearToULaw(int16(s)); u[0] != want {
			t.Fatalf("pcmu encode %d = %#02x, reference %#02x", s, u[0], want)
		}
		if want := linearToALaw(int16(s)); a[0] != want {
			t.Fatalf("pcma encode %d = %#02x, reference %#02x", s, a[0], want)
		}
	}
}

func TestG711RoundTrip(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA} {
		t.Run(c.String(), func(t *testing.T) {
			// Every code decodes to a value that encodes back to it (μ-law has
			// two zeros, 0x7f and 0xff; encoding 0 gives 0xff).
			for code := range 256 {
				var s [1]int16
				var back [1]byte
				c.Decode(s[:], []byte{byte(code)})
				c.Encode(back[:], s[:])
				if back[0] != byte(code) && !(c == PCMU && code == 0x7F && back[0] == 0xFF) {
					t.Errorf("code %#02x -> %d -> %#02x", code, s[0], back[0])
				}
			}
			// Any sample comes back within the quantisation step of its segment:
			// at most 1/16 of its magnitude, plus the smallest step.
			for s := math.MinInt16; s <= math.MaxInt16; s += 7 {
				var b [1]byte
				var back [1]int16
				c.Encode(b[:], []int16{int16(s)})
				c.Decode(back[:], b[:])
				limit := abs(s)/16 + 16
				if abs(s) > 32124 {
					limit += abs(s) - 32124 // clipped
				}
				if d := abs(int(back[0]) - s); d > limit {
					t.Fatalf("%d -> %#02x -> %d: error %d above %d", s, b[0], back[0], d, limit)
				}
			}
		})
	}
}

func TestG711ShortBuffersAndUnknownCodec(t *testing.T) {
	dst := make([]int16, 2)
	if n := PCMU.Decode(dst, []byte{0, 0, 0}); n != 2 {
		t.Errorf("decode into 2 from 3 = %d, want 2", n)
	}
	if n := PCMA.Encode(make([]byte, 3), []int16{1}); n != 1 {
		t.Errorf("encode 1 into 3 = %d, want 1", n)
	}
	dst = []int16{5, 5}
	if n := Codec(18).Decode(dst, []byte{1, 2}); n != 2 || dst[0] != 0 || dst[1] != 0 {
		t.Errorf("unknown codec decode = %d %v, want 2 silent samples", n, dst)
	}
	if n := Codec(18).Encode(make([]byte, 2), []int16{1, 2}); n != 0 {
		t.Errorf("unknown codec encode = %d, want 0", n)
	}
	if got := Codec(18).String(); got != "Codec(18)" {
		t.Errorf("String = %q", got)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func BenchmarkG711Decode(b *testing.B) {
	src := make([]byte, 160)
	dst := make([]int16, 160)
	for i := range src {
		src[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		PCMU.Decode(dst, src)
	}
}
