package media

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// Clip is audio a Player plays: 16-bit linear samples at 8 kHz, mono. A
// clip is never changed once made, so one clip may play on many endpoints
// at once (a prompt, music on hold).
type Clip struct {
	samples []int16
}

// NewClip returns a clip of samples, which it keeps: the caller must not
// change them afterwards.
func NewClip(samples []int16) *Clip { return &Clip{samples: samples} }

// Samples returns the clip's samples; they must not be changed.
func (c *Clip) Samples() []int16 { return c.samples }

// Len returns the clip's length in samples.
func (c *Clip) Len() int { return len(c.samples) }

// maxClipSamples bounds what LoadWAV reads: one hour at 8 kHz (57 MiB as
// int16), far above any prompt or greeting.
const maxClipSamples = 3600 * sampleRate

// LoadWAV reads a WAV file of 16-bit PCM at 8 kHz, mono or stereo (the
// channels are mixed down), into a clip.
func LoadWAV(path string) (*Clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load wav: %w", err)
	}
	defer f.Close()
	c, err := ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("load wav %s: %w", path, err)
	}
	return c, nil
}

// ReadWAV reads a WAV stream as LoadWAV does. Anything but 16-bit PCM at
// 8 kHz in one or two channels is ErrNotWAV.
func ReadWAV(r io.Reader) (*Clip, error) {
	le := binary.LittleEndian
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil || string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no riff/wave header", ErrNotWAV)
	}
	var nch int
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk", ErrNotWAV)
		}
		n := int64(le.Uint32(ch[4:]))
		switch string(ch[0:4]) {
		case "fmt ":
			if n < 16 || n > 1024 {
				return nil, fmt.Errorf("%w: bad fmt chunk", ErrNotWAV)
			}
			b := make([]byte, n+n&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("%w: short fmt chunk", ErrNotWAV)
			}
			format, chans := le.Uint16(b[0:]), le.Uint16(b[2:])
			rate, bits := le.Uint32(b[4:]), le.Uint16(b[14:])
			if format != 1 || bits != 16 || rate != sampleRate || chans < 1 || chans > 2 {
				return nil, fmt.Errorf("%w: want 16-bit PCM at 8 kHz, mono or stereo (format %d, %d channels, %d Hz, %d bits)",
					ErrNotWAV, format, chans, rate, bits)
			}
			nch = int(chans)
		case "data":
			if nch == 0 {
				return nil, fmt.Errorf("%w: no fmt chunk before the data chunk", ErrNotWAV)
			}
			frames := min(n/int64(2*nch), maxClipSamples)
			// A file cut short by a crash has a data size beyond its end:
			// what is there is read.
			b, err := io.ReadAll(io.LimitReader(r, frames*int64(2*nch)))
			if err != nil {
				return nil, fmt.Errorf("read wav data: %w", err)
			}
			frames = int64(len(b) / (2 * nch))
			s := make([]int16, frames)
			for i := range s {
				if nch == 1 {
					s[i] = int16(le.Uint16(b[2*i:]))
				} else {
					l, r := int32(int16(le.Uint16(b[4*i:]))), int32(int16(le.Uint16(b[4*i+2:])))
					s[i] = int16((l + r) / 2)
				}
			}
			return &Clip{samples: s}, nil
		default:
			if _, err := io.CopyN(io.Discard, r, n+n&1); err != nil {
				return nil, fmt.Errorf("%w: no data chunk", ErrNotWAV)
			}
		}
	}
}

// Tone returns a clip of a sine wave of freq Hz for ms milliseconds at
// level dBFS (0 is full scale; -10 is a comfortable prompt beep).
func Tone(freq float64, ms int, level float64) *Clip {
	n := ms * sampleRate / 1000
	amp := 32767 * math.Pow(10, level/20)
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/sampleRate))
	}
	return &Clip{samples: s}
}

// Silence returns a clip of ms milliseconds of silence.
func Silence(ms int) *Clip { return &Clip{samples: make([]int16, ms*sampleRate/1000)} }

// Concat returns the clips one after the other.
func Concat(clips ...*Clip) *Clip {
	n := 0
	for _, c := range clips {
		n += len(c.samples)
	}
	s := make([]int16, 0, n)
	for _, c := range clips {
		s = append(s, c.samples...)
	}
	return &Clip{samples: s}
}
