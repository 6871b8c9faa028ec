// Package wavconv converts uploaded WAV files into what the PBX plays:
// 16-bit PCM at 8 kHz in one channel (media.ReadWAV reads the result). It
// depends on nothing of the PBX, so that the web side may use it without
// knowing package media.
package wavconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrNotWAV is a file Convert cannot read.
var ErrNotWAV = errors.New("not a wav file")

const (
	sampleRate = 8000
	// maxSamples bounds the output: an hour, as media's clips.
	maxSamples = 3600 * sampleRate
)

// Convert turns an uploaded WAV file into what the PBX plays: 16-bit
// PCM at 8 kHz in one channel. It reads integer PCM of 8, 16, 24 or 32
// bits and 32-bit float (WAVE_FORMAT_EXTENSIBLE too), any rate from 8 kHz
// to 192 kHz and up to 8 channels (mixed down), and resamples with a
// low-pass filter so that a 44.1 kHz file does not alias. Anything else is
// ErrNotWAV. The audio is cut at the clip length limit.
func Convert(b []byte) ([]byte, error) {
	in, rate, err := decodeWAV(b)
	if err != nil {
		return nil, err
	}
	out := resample(in, rate, sampleRate)
	if len(out) > maxSamples {
		out = out[:maxSamples]
	}
	res := monoHeader(uint32(2*len(out)), 2*len(out))
	for _, v := range out {
		res = binary.LittleEndian.AppendUint16(res, uint16(clip16(v)))
	}
	return res, nil
}

// decodeWAV returns the samples of b mixed to mono, full scale ±1, and the
// sample rate.
func decodeWAV(b []byte) ([]float64, int, error) {
	le := binary.LittleEndian
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: no riff/wave header", ErrNotWAV)
	}
	var format, chans, bits int
	var rate int
	for off := 12; off+8 <= len(b); {
		n := int(le.Uint32(b[off+4:]))
		body := off + 8
		if n < 0 || n > len(b)-body {
			n = len(b) - body // a size past the end: what is there
		}
		switch string(b[off : off+4]) {
		case "fmt ":
			if n < 16 {
				return nil, 0, fmt.Errorf("%w: short fmt chunk", ErrNotWAV)
			}
			f := b[body:]
			format, chans = int(le.Uint16(f[0:])), int(le.Uint16(f[2:]))
			rate, bits = int(le.Uint32(f[4:])), int(le.Uint16(f[14:]))
			if format == 0xfffe && n >= 26 { // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes
				format = int(le.Uint16(f[24:]))
			}
			if (format != 1 && format != 3) || chans < 1 || chans > 8 || rate < 8000 || rate > 192000 ||
				(format == 1 && bits != 8 && bits != 16 && bits != 24 && bits != 32) || (format == 3 && bits != 32) {
				return nil, 0, fmt.Errorf("%w: want PCM or float audio, 1 to 8 channels, 8 to 192 kHz (format %d, %d channels, %d Hz, %d bits)",
					ErrNotWAV, format, chans, rate, bits)
			}
		case "data":
			if chans == 0 {
				return nil, 0, fmt.Errorf("%w: no fmt chunk before the data chunk", ErrNotWAV)
			}
			width := bits / 8
			frame := width * chans
			frames := n / frame
			// Enough input for the clip limit at the output rate.
			frames = min(frames, int(int64(maxSamples)*int64(rate)/sampleRate)+1)
			out := make([]float64, frames)
			d := b[body:]
			for i := range out {
				var sum float64
				for c := range chans {
					sum += pcmSample(d[(i*chans+c)*width:], format, bits)
				}
				out[i] = sum / float64(chans)
			}
			if len(out) == 0 {
				return nil, 0, fmt.Errorf("%w: no audio", ErrNotWAV)
			}
			return out, rate, nil
		}
		off = body + n + n&1
	}
	return nil, 0, fmt.Errorf("%w: no data chunk", ErrNotWAV)
}

// monoHeader is the 44-byte header of a WAV of 16-bit PCM at 8 kHz in
// one channel with dataSize bytes of samples, with room for them.
func monoHeader(dataSize uint32, room int) []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, 44+room)
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, 36+dataSize)
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1) // PCM
	b = le.AppendUint16(b, 1) // mono
	b = le.AppendUint32(b, sampleRate)
	b = le.AppendUint32(b, 2*sampleRate)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 16)
	b = append(b, "data"...)
	return le.AppendUint32(b, dataSize)
}

// pcmSample reads one sample at the start of p, full scale ±1.
func pcmSample(p []byte, format, bits int) float64 {
	le := binary.LittleEndian
	switch {
	case format == 3:
		v := float64(math.Float32frombits(le.Uint32(p)))
		if math.IsNaN(v) {
			return 0
		}
		return max(-1, min(1, v))
	case bits == 8: // unsigned
		return (float64(p[0]) - 128) / 128
	case bits == 16:
		return float64(int16(le.Uint16(p))) / 32768
	case bits == 24:
		v := int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24) >> 8
		return float64(v) / (1 << 23)
	default:
		return float64(int32(le.Uint32(p))) / (1 << 31)
	}
}

// resample converts x from rate from to rate to: a windowed-sinc low-pass
// at the lower Nyquist frequency, evaluated at each output instant.
func resample(x []float64, from, to int) []float64 {
	if from == to {
		return x
	}
	ratio := float64(from) / float64(to)
	cutoff := min(1.0, 1/ratio) * 0.95 // of the input's Nyquist
	const half = 16                    // taps each side at the output's rate
	width := int(math.Ceil(half * max(1, ratio)))
	n := int(int64(len(x)) * int64(to) / int64(from))
	out := make([]float64, n)
	for i := range out {
		t := float64(i) * ratio
		c := int(t)
		var acc, norm float64
		for j := c - width + 1; j <= c+width; j++ {
			if j < 0 || j >= len(x) {
				continue
			}
			d := t - float64(j)
			w := sinc(d*cutoff) * (0.5 + 0.5*math.Cos(math.Pi*d/float64(width+1)))
			acc += x[j] * w
			norm += w
		}
		if norm != 0 {
			out[i] = acc / norm
		}
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

func clip16(v float64) int16 {
	s := math.Round(v * 32767)
	return int16(max(-32768, min(32767, s)))
}
