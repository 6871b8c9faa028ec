package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// testWAV builds a WAV file: format tag (wavPCM, wavFloat, or
// wavExtensible for extensible PCM), channels, rate, bits, and the
// samples of each channel as functions of time in seconds (values in
// [-1, 1]).
func testWAV(tag uint16, rate, bits int, secs float64, chans ...func(t float64) float64) []byte {
	le := binary.LittleEndian
	frames := int(secs * float64(rate))
	size := bits / 8
	data := make([]byte, frames*len(chans)*size)
	for i := range frames {
		for c, fn := range chans {
			v := fn(float64(i) / float64(rate))
			p := data[(i*len(chans)+c)*size:]
			switch {
			case tag == wavFloat && bits == 32:
				le.PutUint32(p, math.Float32bits(float32(v)))
			case tag == wavFloat:
				le.PutUint64(p, math.Float64bits(v))
			case bits == 8:
				p[0] = byte(math.Round(v*127) + 128)
			case bits == 16:
				le.PutUint16(p, uint16(int16(math.Round(v*32767))))
			case bits == 24:
				n := int32(math.Round(v * 8388607))
				p[0], p[1], p[2] = byte(n), byte(n>>8), byte(n>>16)
			default:
				le.PutUint32(p, uint32(int32(math.Round(v*2147483647))))
			}
		}
	}
	fmtc := make([]byte, 16)
	if tag == wavExtensible {
		fmtc = make([]byte, 40)
		le.PutUint16(fmtc[16:], 22)
		le.PutUint16(fmtc[18:], uint16(bits))
		le.PutUint16(fmtc[24:], wavPCM)
	}
	le.PutUint16(fmtc[0:], tag)
	le.PutUint16(fmtc[2:], uint16(len(chans)))
	le.PutUint32(fmtc[4:], uint32(rate))
	le.PutUint32(fmtc[8:], uint32(rate*len(chans)*size))
	le.PutUint16(fmtc[12:], uint16(len(chans)*size))
	le.PutUint16(fmtc[14:], uint16(bits))
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(4+8+len(fmtc)+8+8+len(data)))
	b.WriteString("WAVE")
	b.WriteString("LIST") // a chunk before fmt, as many editors write
	binary.Write(&b, le, uint32(0))
	b.WriteString("fmt ")
	binary.Write(&b, le, uint32(len(fmtc)))
	b.Write(fmtc)
	b.WriteString("data")
	binary.Write(&b, le, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func sineFn(freq, amp float64) func(float64) float64 {
	return func(t float64) float64 { return amp * math.Sin(2*math.Pi*freq*t) }
}

// rms is the root mean square of s relative to full scale, in dB.
func rmsDB(s []int16) float64 {
	sum := 0.0
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return 20 * math.Log10(math.Sqrt(sum/float64(len(s)))/32768)
}

func crossings(s []int16) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(s)) / sampleRate)
}

func TestConvertToMono8k(t *testing.T) {
	half := sineFn(440, 0.5) // -9 dBFS of RMS
	for _, tc := range []struct {
		name string
		wav  []byte
	}{
		{"8 kHz 16-bit mono", testWAV(wavPCM, 8000, 16, 1, half)},
		{"44.1 kHz 16-bit stereo", testWAV(wavPCM, 44100, 16, 1, half, half)},
		{"48 kHz 24-bit mono", testWAV(wavPCM, 48000, 24, 1, half)},
		{"11.025 kHz 8-bit mono", testWAV(wavPCM, 11025, 8, 1, half)},
		{"16 kHz 32-bit float stereo", testWAV(wavFloat, 16000, 32, 1, half, half)},
		{"22.05 kHz 64-bit float", testWAV(wavFloat, 22050, 64, 1, half)},
		{"96 kHz 32-bit PCM", testWAV(wavPCM, 96000, 32, 1, half)},
		{"48 kHz extensible 16-bit, 6 channels", testWAV(wavExtensible, 48000, 16, 1, half, half, half, half, half, half)},
		{"6 kHz 16-bit (up)", testWAV(wavPCM, 6000, 16, 1, half)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ConvertToMono8k(bytes.NewReader(tc.wav))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ReadWAV(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("the result is not what LoadWAV reads: %v", err)
			}
			s := c.Samples()
			if len(s) < 7990 || len(s) > 8000 {
				t.Fatalf("%d samples, want 1 s at 8 kHz", len(s))
			}
			mid := s[400 : len(s)-400] // the filter's edges aside
			if f := crossings(mid); math.Abs(f-440) > 5 {
				t.Errorf("a tone of %.1f Hz, want 440", f)
			}
			if db := rmsDB(mid); math.Abs(db-(-9.03)) > 0.3 {
				t.Errorf("level %.2f dBFS, want -9.03", db)
			}
		})
	}
}

// TestConvertFiltersAliases: a tone above 4 kHz is not heard at 8 kHz;
// taking every sixth sample of 48 kHz would fold 6 kHz onto 2 kHz at full
// level.
func TestConvertFiltersAliases(t *testing.T) {
	out, err := ConvertToMono8k(bytes.NewReader(testWAV(wavPCM, 48000, 16, 1, sineFn(6000, 0.9))))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadWAV(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Samples()
	if db := rmsDB(s[400 : len(s)-400]); db > -60 {
		t.Fatalf("a 6 kHz tone at 48 kHz comes out at %.1f dBFS, want under -60", db)
	}
	// And a stereo file whose channels cancel is silence, not one channel.
	out, err = ConvertToMono8k(bytes.NewReader(testWAV(wavPCM, 8000, 16, 1, sineFn(440, 0.5), sineFn(440, -0.5))))
	if err != nil {
		t.Fatal(err)
	}
	c, _ = ReadWAV(bytes.NewReader(out))
	for i, v := range c.Samples() {
		if v < -1 || v > 1 {
			t.Fatalf("sample %d is %d: the channels were not mixed", i, v)
		}
	}
}

func TestConvertRefuses(t *testing.T) {
	good := testWAV(wavPCM, 8000, 16, 0.1, sineFn(440, 0.5))
	alaw := bytes.Clone(good)
	binary.LittleEndian.PutUint16(alaw[bytes.Index(alaw, []byte("fmt "))+8:], 6)
	noChan := bytes.Clone(good)
	binary.LittleEndian.PutUint16(noChan[bytes.Index(noChan, []byte("fmt "))+10:], 0)
	bits12 := bytes.Clone(good)
	binary.LittleEndian.PutUint16(bits12[bytes.Index(bits12, []byte("fmt "))+22:], 12)
	for _, tc := range []struct {
		name, why string
		b         []byte
	}{
		{"empty", "no RIFF/WAVE", nil},
		{"mp3", "no RIFF/WAVE", []byte("ID3\x04\x00\x00\x00\x00\x00\x00")},
		{"a-law", "format 6", alaw},
		{"no channels", "0 channels", noChan},
		{"12-bit", "12-bit", bits12},
		{"no data chunk", "no data chunk", good[:bytes.Index(good, []byte("data"))]},
		{"no audio", "no audio", testWAV(wavPCM, 8000, 16, 0, sineFn(1, 0))},
		{"too long", "longer than", testWAV(wavPCM, 1000, 8, MaxConvertSeconds+1, sineFn(100, 0.1))},
	} {
		_, err := ConvertToMono8k(bytes.NewReader(tc.b))
		if !errors.Is(err, ErrNotWAV) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want ErrNotWAV saying %q", tc.name, err, tc.why)
		}
	}
}

func FuzzConvertToMono8k(f *testing.F) {
	f.Add(testWAV(wavPCM, 44100, 16, 0.01, sineFn(440, 0.5), sineFn(440, 0.5)))
	f.Add(testWAV(wavFloat, 16000, 32, 0.01, sineFn(440, 0.5)))
	f.Add(testWAV(wavExtensible, 48000, 24, 0.01, sineFn(440, 0.5)))
	f.Add(testWAV(wavPCM, 8000, 8, 0.01, sineFn(440, 0.5)))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := ConvertToMono8k(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrNotWAV) {
				t.Fatalf("error %v does not wrap ErrNotWAV", err)
			}
			return
		}
		c, err := ReadWAV(bytes.NewReader(out))
		if err != nil || 2*c.Len()+wavHeadSize != len(out) || c.Len() == 0 {
			t.Fatalf("output of %d bytes does not read back: %v", len(out), err)
		}
	})
}

// BenchmarkConvertToMono8k: ten seconds of 44.1 kHz stereo 16-bit (the
// CD format an editor exports by default).
func BenchmarkConvertToMono8k(b *testing.B) {
	wav := testWAV(wavPCM, 44100, 16, 10, sineFn(440, 0.5), sineFn(440, 0.5))
	b.SetBytes(int64(len(wav)))
	for b.Loop() {
		if _, err := ConvertToMono8k(bytes.NewReader(wav)); err != nil {
			b.Fatal(err)
		}
	}
}
