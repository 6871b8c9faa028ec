package media

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Converting an uploaded WAV (a voicemail or menu greeting) to what the
// players play: 16-bit linear PCM at 8 kHz, mono.

// MaxConvertInput bounds what ConvertToMono8k reads: 32 MiB, some three
// minutes of 48 kHz stereo 16-bit audio. The mono mix it makes takes at
// most four bytes a byte of it (8-bit mono).
const MaxConvertInput = 32 << 20

// MaxConvertSeconds bounds the audio ConvertToMono8k returns: ten minutes.
const MaxConvertSeconds = 600

// WAVE format tags of the fmt chunk.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavExtensible = 0xFFFE
)

// wavFormat is what ConvertToMono8k needs of a fmt chunk.
type wavFormat struct {
	tag   uint16 // wavPCM or wavFloat (an extensible format's sub-format)
	chans int
	rate  int
	bits  int // bits per sample as stored: 8, 16, 24, 32 or 64
}

// ConvertToMono8k reads a WAV file of linear PCM (8, 16, 24 or 32 bits)
// or IEEE float (32 or 64 bits), plain or WAVE_FORMAT_EXTENSIBLE, at any
// rate from 1 kHz to 384 kHz in 1 to 8 channels, and returns it as a WAV
// file of 16-bit PCM at 8 kHz, mono (what LoadWAV reads). The channels are
// averaged; another rate is resampled through a windowed-sinc low-pass
// filter, so that nothing above 4 kHz folds back. Anything else, a file
// with no audio, one over MaxConvertInput or longer than
// MaxConvertSeconds is an error wrapping ErrNotWAV whose text says why.
func ConvertToMono8k(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxConvertInput+1))
	if err != nil {
		return nil, fmt.Errorf("convert wav: %w", err)
	}
	if len(b) > MaxConvertInput {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrNotWAV, MaxConvertInput>>20)
	}
	f, data, err := parseWAV(b)
	if err != nil {
		return nil, err
	}
	mono := downmix(f, data)
	if len(mono) == 0 {
		return nil, fmt.Errorf("%w: no audio", ErrNotWAV)
	}
	if float64(len(mono))/float64(f.rate) > MaxConvertSeconds {
		return nil, fmt.Errorf("%w: longer than %d seconds", ErrNotWAV, MaxConvertSeconds)
	}
	out := resample(mono, f.rate, sampleRate)
	w := make([]byte, wavHeadSize+2*len(out))
	h := monoHeader(uint32(2 * len(out)))
	copy(w, h[:])
	for i, v := range out {
		binary.LittleEndian.PutUint16(w[wavHeadSize+2*i:], uint16(v))
	}
	return w, nil
}

// parseWAV finds the format and the data of a WAV file in b.
func parseWAV(b []byte) (wavFormat, []byte, error) {
	le := binary.LittleEndian
	var f wavFormat
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return f, nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
	}
	for off := 12; off+8 <= len(b); {
		n := int64(le.Uint32(b[off+4:]))
		body := off + 8
		switch string(b[off : off+4]) {
		case "fmt ":
			if n < 16 || int64(body)+n > int64(len(b)) {
				return f, nil, fmt.Errorf("%w: bad fmt chunk", ErrNotWAV)
			}
			var err error
			if f, err = readFormat(b[body : body+int(n)]); err != nil {
				return f, nil, err
			}
		case "data":
			if f.tag == 0 {
				return f, nil, fmt.Errorf("%w: no fmt chunk before the data chunk", ErrNotWAV)
			}
			// A file cut short (or written while streaming, with a size
			// of 0 or ~0) has a data size beyond its end: what is there
			// is read.
			end := int64(body) + n
			if n == 0 || end > int64(len(b)) {
				end = int64(len(b))
			}
			frame := f.chans * f.bits / 8
			d := b[body:end]
			return f, d[:len(d)/frame*frame], nil
		}
		next := int64(body) + n + n&1
		if next > int64(len(b)) {
			break
		}
		off = int(next)
	}
	return f, nil, fmt.Errorf("%w: no data chunk", ErrNotWAV)
}

// readFormat checks a fmt chunk's body.
func readFormat(c []byte) (wavFormat, error) {
	le := binary.LittleEndian
	f := wavFormat{tag: le.Uint16(c[0:]), chans: int(le.Uint16(c[2:])), rate: int(le.Uint32(c[4:])), bits: int(le.Uint16(c[14:]))}
	if f.tag == wavExtensible {
		// cbSize, valid bits, channel mask, then the sub-format GUID whose
		// first two bytes are the format tag.
		if len(c) < 40 {
			return f, fmt.Errorf("%w: short extensible fmt chunk", ErrNotWAV)
		}
		f.tag = le.Uint16(c[24:])
	}
	switch {
	case f.tag != wavPCM && f.tag != wavFloat:
		return f, fmt.Errorf("%w: format %d is not linear PCM or float (compressed audio is not taken)", ErrNotWAV, f.tag)
	case f.chans < 1 || f.chans > 8:
		return f, fmt.Errorf("%w: %d channels (1 to 8 are taken)", ErrNotWAV, f.chans)
	case f.rate < 1000 || f.rate > 384000:
		return f, fmt.Errorf("%w: a rate of %d Hz (1 to 384 kHz are taken)", ErrNotWAV, f.rate)
	case f.tag == wavPCM && f.bits != 8 && f.bits != 16 && f.bits != 24 && f.bits != 32,
		f.tag == wavFloat && f.bits != 32 && f.bits != 64:
		return f, fmt.Errorf("%w: %d-bit samples are not taken", ErrNotWAV, f.bits)
	}
	return f, nil
}

// downmix returns the average of the channels of each frame, scaled to
// 16-bit full scale.
func downmix(f wavFormat, d []byte) []float32 {
	le := binary.LittleEndian
	size := f.bits / 8
	frames := len(d) / (size * f.chans)
	out := make([]float32, frames)
	for i := range out {
		sum := 0.0
		for c := range f.chans {
			p := d[(i*f.chans+c)*size:]
			var v float64
			switch {
			case f.tag == wavFloat && size == 4:
				v = float64(math.Float32frombits(le.Uint32(p))) * 32768
			case f.tag == wavFloat:
				v = math.Float64frombits(le.Uint64(p)) * 32768
			case size == 1: // 8-bit PCM is unsigned
				v = (float64(p[0]) - 128) * 256
			case size == 2:
				v = float64(int16(le.Uint16(p)))
			case size == 3:
				v = float64(int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24)) / 65536
			default:
				v = float64(int32(le.Uint32(p))) / 65536
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = 0
			}
			sum += v
		}
		out[i] = float32(sum / float64(f.chans))
	}
	return out
}

// sincHalfWidth is the half width of the resampling filter in periods of
// the lower of the two rates: a wider filter has a steeper edge.
const sincHalfWidth = 16

// sincPhases is how finely the filter is tabulated between two input
// samples: an output sample's position is rounded to 1/256 of an input
// period, far below what an ear or a G.711 codec tells apart.
const sincPhases = 256

// resample converts x from rate in to rate out with a Blackman-windowed
// sinc low-pass at 0.45 of the lower rate (below the Nyquist frequency of
// both, with room for the filter's edge), rounded to 16 bits.
func resample(x []float32, in, out int) []int16 {
	if in == out {
		y := make([]int16, len(x))
		for i, v := range x {
			y[i] = clamp16(float64(v))
		}
		return y
	}
	ratio := float64(in) / float64(out) // input samples per output sample
	cut := 0.45 * math.Min(1, 1/ratio)  // cycles per input sample
	half := float64(sincHalfWidth) * math.Max(1, ratio)
	taps := int(math.Ceil(half))
	width := 2*taps + 1
	// table[p*width+i] weighs input sample floor(t)-taps+i for an output
	// sample at t = floor(t) + p/sincPhases; each phase sums to 1 (unity
	// gain at 0 Hz).
	table := make([]float64, (sincPhases+1)*width)
	for p := 0; p <= sincPhases; p++ {
		frac := float64(p) / sincPhases
		row := table[p*width : (p+1)*width]
		sum := 0.0
		for i := range row {
			d := float64(i-taps) - frac
			row[i] = sinc(2*cut*d) * blackman(d/half)
			sum += row[i]
		}
		for i := range row {
			row[i] /= sum
		}
	}
	n := max(int(int64(len(x))*int64(out)/int64(in)), 1)
	y := make([]int16, n)
	for j := range y {
		num := int64(j) * int64(in)
		base := int(num / int64(out))
		p := int((num%int64(out)*sincPhases + int64(out)/2) / int64(out))
		row := table[p*width : (p+1)*width]
		k0 := base - taps
		sum := 0.0
		for i, h := range row {
			if k := k0 + i; k >= 0 && k < len(x) {
				sum += float64(x[k]) * h
			}
		}
		y[j] = clamp16(sum)
	}
	return y
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window over u in [-1, 1].
func blackman(u float64) float64 {
	if u <= -1 || u >= 1 {
		return 0
	}
	a := math.Pi * (u + 1)
	return 0.42 - 0.5*math.Cos(a) + 0.08*math.Cos(2*a)
}

func clamp16(v float64) int16 {
	return int16(math.Max(-32768, math.Min(32767, math.Round(v))))
}
