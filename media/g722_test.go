package media

import (
	"math"
	"testing"
)

// sine returns n samples of a sine at freq, sampled at rate.
func sine(n int, freq, rate, amp float64) []int16 {
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/rate))
	}
	return x
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

// snr compares out with in delayed by the best delay up to maxDelay,
// skipping the first skip samples, and returns the SNR in dB and the
// delay.
func snr(in, out []int16, skip, maxDelay int) (float64, int) {
	best, bestD := math.Inf(-1), 0
	for d := 0; d <= maxDelay; d++ {
		var sig, noise float64
		for i := skip; i < len(out) && i-d < len(in); i++ {
			s, e := float64(in[i-d]), float64(out[i])-float64(in[i-d])
			sig += s * s
			noise += e * e
		}
		if v := 10 * math.Log10(sig/max(noise, 1e-9)); v > best {
			best, bestD = v, d
		}
	}
	return best, bestD
}

// toneSNR fits a sine at freq to x (sampled at rate) and returns the
// ratio of its power to the power of what is left, in dB: how clean a
// tone came through, whatever it was delayed by.
func toneSNR(x []int16, freq, rate float64) float64 {
	var c, s float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / rate
		c += float64(v) * math.Cos(w)
		s += float64(v) * math.Sin(w)
	}
	n := float64(len(x))
	c, s = 2*c/n, 2*s/n
	var sig, noise float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / rate
		f := c*math.Cos(w) + s*math.Sin(w)
		sig += f * f
		noise += (float64(v) - f) * (float64(v) - f)
	}
	return 10 * math.Log10(sig/max(noise, 1e-9))
}

// TestG722RoundTrip: tones in both sub-bands keep their frequency and come
// back with a good signal-to-noise ratio once the ADPCM has adapted.
func TestG722RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		freq, other float64
		minSNR      float64
	}{
		{300, 1000, 30},
		{1000, 3000, 30},
		{3000, 1000, 25},
		{6000, 1000, 12}, // the higher band, coded with 2 bits
	} {
		in := sine(16000, tc.freq, 16000, 10000)
		enc, dec := NewG722Encoder(), NewG722Decoder()
		code := make([]byte, len(in)/2)
		out := make([]int16, len(in))
		// 20 ms packets, as on the wire: the state carries over.
		for i := 0; i < len(code); i += 160 {
			if n := enc.Encode(code[i:i+160], in[2*i:2*i+320]); n != 160 {
				t.Fatalf("encode: %d bytes", n)
			}
			if n := dec.Decode(out[2*i:2*i+320], code[i:i+160]); n != 320 {
				t.Fatalf("decode: %d samples", n)
			}
		}
		s, d := snr(in, out, 1600, 64)
		tail := out[1600:]
		p, q := power(tail, tc.freq, 16000), power(tail, tc.other, 16000)
		t.Logf("%4.0f Hz: SNR %.1f dB at a delay of %d samples; power %.3g, at %.0f Hz %.3g", tc.freq, s, d, p, tc.other, q)
		if s < tc.minSNR {
			t.Errorf("%.0f Hz: SNR %.1f dB, want at least %.0f", tc.freq, s, tc.minSNR)
		}
		if p < 1e6 || p < 1000*q {
			t.Errorf("%.0f Hz: power %.3g, at %.0f Hz %.3g: the tone did not survive", tc.freq, p, tc.other, q)
		}
	}
}

// TestG722Reset: a reset coder codes the same input to the same bytes.
func TestG722Reset(t *testing.T) {
	in := sine(640, 440, 16000, 12000)
	enc := NewG722Encoder()
	a, b := make([]byte, 320), make([]byte, 320)
	enc.Encode(a, in)
	enc.Reset()
	enc.Encode(b, in)
	if string(a) != string(b) {
		t.Error("encoder: different bytes after Reset")
	}
	dec := NewG722Decoder()
	x, y := make([]int16, 640), make([]int16, 640)
	dec.Decode(x, a)
	dec.Reset()
	dec.Decode(y, a)
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("decoder: sample %d differs after Reset", i)
		}
	}
}

// TestTranscode: a tone goes through every pair of codecs and keeps its
// frequency; G.711 through G.722 and back keeps a good SNR. Packets are
// 20 ms, and each direction keeps its state from packet to packet.
func TestTranscode(t *testing.T) {
	codecs := []Codec{PCMU, PCMA, G722}
	// encode and decode a whole stream at the codec's own rate.
	encode := func(c Codec, pcm8, pcm16 []int16) []byte {
		out := make([]byte, len(pcm8))
		if c == G722 {
			NewG722Encoder().Encode(out, pcm16)
		} else {
			c.Encode(out, pcm8)
		}
		return out
	}
	decode := func(c Codec, b []byte) ([]int16, float64) {
		if c == G722 {
			out := make([]int16, 2*len(b))
			NewG722Decoder().Decode(out, b)
			return out, 16000
		}
		out := make([]int16, len(b))
		c.Decode(out, b)
		return out, 8000
	}
	const freq, other = 1000, 440
	pcm8, pcm16 := sine(8000, freq, 8000, 10000), sine(16000, freq, 16000, 10000)
	for _, from := range codecs {
		for _, to := range codecs {
			x, err := NewTranscoder(from, to)
			if err != nil {
				t.Fatal(err)
			}
			in := encode(from, pcm8, pcm16)
			out := make([]byte, len(in))
			for i := 0; i < len(in); i += 160 {
				if n := x.Transcode(out[i:i+160], in[i:i+160]); n != 160 {
					t.Fatalf("%s to %s: %d bytes", from, to, n)
				}
			}
			pcm, rate := decode(to, out)
			tail := pcm[len(pcm)/10:]
			p, q := power(tail, freq, rate), power(tail, other, rate)
			if p < 1e6 || p < 1000*q {
				t.Errorf("%s to %s: power at %d Hz %.3g, at %d Hz %.3g", from, to, freq, p, other, q)
			}
		}
	}
	// PCMU → G.722 → PCMU, as a call through two transcoding relays.
	in := encode(PCMU, pcm8, nil)
	up, _ := NewTranscoder(PCMU, G722)
	down, _ := NewTranscoder(G722, PCMU)
	mid, out := make([]byte, len(in)), make([]byte, len(in))
	up.Transcode(mid, in)
	down.Transcode(out, mid)
	ref, _ := decode(PCMU, in)
	got, _ := decode(PCMU, out)
	// The chain delays by 23.5 samples: a sine fitted to each side tells
	// how clean the tone is, where a sample-by-sample compare could not.
	sIn, sOut := toneSNR(ref[800:], freq, 8000), toneSNR(got[800:], freq, 8000)
	t.Logf("PCMU alone: SNR %.1f dB; PCMU → G722 → PCMU: %.1f dB", sIn, sOut)
	if sOut < 30 || sOut < sIn-6 {
		t.Errorf("PCMU → G722 → PCMU: SNR %.1f dB (PCMU alone %.1f dB), want at least 30 and within 6 dB", sOut, sIn)
	}
	if _, err := NewTranscoder(PCMU, Codec(18)); err == nil {
		t.Error("a transcoder to G.729")
	}
}

// TestTranscodeAllocs: converting a packet allocates nothing.
func TestTranscodeAllocs(t *testing.T) {
	src, dst := make([]byte, 160), make([]byte, 160)
	for _, pair := range [][2]Codec{{PCMU, G722}, {G722, PCMA}, {PCMU, PCMA}} {
		x, _ := NewTranscoder(pair[0], pair[1])
		if n := testing.AllocsPerRun(100, func() { x.Transcode(dst, src) }); n != 0 {
			t.Errorf("%s to %s: %.0f allocations a packet", pair[0], pair[1], n)
		}
	}
}

// FuzzG722Decode: any bytes decode, and transcode from G.722, without a
// panic and to the promised lengths.
func FuzzG722Decode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x00, 0xff, 0x3f, 0xc0, 0x80, 0x7f})
	f.Add(make([]byte, 1000))
	code := make([]byte, 320)
	NewG722Encoder().Encode(code, sine(640, 1000, 16000, 30000))
	f.Add(code)
	f.Fuzz(func(t *testing.T, b []byte) {
		out := make([]int16, 2*len(b))
		if n := NewG722Decoder().Decode(out, b); n != 2*len(b) {
			t.Fatalf("decoded %d samples from %d bytes", n, len(b))
		}
		for _, to := range []Codec{PCMU, PCMA} {
			x, _ := NewTranscoder(G722, to)
			dst := make([]byte, len(b))
			if n := x.Transcode(dst, b); n != len(b) {
				t.Fatalf("to %s: %d bytes from %d", to, n, len(b))
			}
		}
		// The decoder's output coded again never trips the encoder.
		NewG722Encoder().Encode(make([]byte, len(b)), out)
	})
}

// BenchmarkTranscode: the cost of converting one 20 ms packet (160 bytes)
// in one direction.
//
//	go test -run '^$' -bench Transcode -benchmem ./media/
func BenchmarkTranscode(b *testing.B) {
	for _, pair := range [][2]Codec{{PCMU, G722}, {G722, PCMU}, {PCMA, G722}, {G722, PCMA}, {PCMU, PCMA}} {
		b.Run(pair[0].String()+"-"+pair[1].String(), func(b *testing.B) {
			x, _ := NewTranscoder(pair[0], pair[1])
			src, dst := make([]byte, 160), make([]byte, 160)
			if pair[0] == G722 {
				NewG722Encoder().Encode(src, sine(320, 1000, 16000, 10000))
			} else {
				pair[0].Encode(src, sine(160, 1000, 8000, 10000))
			}
			b.ReportAllocs()
			for b.Loop() {
				x.Transcode(dst, src)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
