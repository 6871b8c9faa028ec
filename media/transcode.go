package media

import (
	"fmt"

	"github.com/pion/rtp"
)

// Transcoding between G.711 (PCMU, PCMA: 8 kHz) and G.722 (16 kHz). All
// three have an RTP clock of 8000 and one byte per timestamp unit (RFC
// 3551), so a packet keeps its header, timestamps included, and its
// payload keeps its length: 160 bytes of PCMU (20 ms) become 160 bytes of
// G.722. The G.711 side is resampled by 2 with a half-band filter.

// transcodeChunk is how many bytes are converted at a time; a payload of
// any length is converted chunk by chunk.
const transcodeChunk = 256

// halfBand is the odd phase of a half-band low-pass filter (cut-off at a
// quarter of the higher rate): sin(πt)/(πt) at t = ±0.5, ±1.5 … ±5.5, under
// a Blackman window, in Q15 summing to 32768. Interpolating by 2 takes the
// even samples as they are and these taps for the samples between;
// decimating by 2 filters with 1/2 at the centre and half these taps at the
// odd offsets. The stop band is about 55 dB down.
var halfBand = [12]int32{-12, 154, -659, 2003, -5378, 20276, 20276, -5378, 2003, -659, 154, -12}

// upsampler doubles the rate of a stream of samples. It delays the
// stream by 6 input samples.
type upsampler struct {
	h [12]int32 // the last 12 input samples, newest last
}

// run writes 2*len(src) samples to dst, which must be that long.
func (u *upsampler) run(dst []int16, src []int16) {
	for i, s := range src {
		copy(u.h[:11], u.h[1:])
		u.h[11] = int32(s)
		var acc int32
		for k, c := range halfBand {
			acc += c * u.h[k]
		}
		dst[2*i] = int16(u.h[6])
		dst[2*i+1] = int16(sat16(int(acc >> 15)))
	}
}

// downsampler halves the rate of a stream of samples. It delays the
// stream by 12 input samples.
type downsampler struct {
	h [24]int32 // the last 24 input samples, newest last
}

// run writes len(src)/2 samples to dst, which must be that long.
func (d *downsampler) run(dst []int16, src []int16) {
	for i := range len(src) / 2 {
		copy(d.h[:22], d.h[2:])
		d.h[22], d.h[23] = int32(src[2*i]), int32(src[2*i+1])
		acc := d.h[12] << 15
		for k, c := range halfBand {
			acc += c * d.h[2*k+1]
		}
		dst[i] = int16(sat16(int(acc >> 16)))
	}
}

// Transcoder converts the payloads of one RTP stream from one codec to
// another among PCMU, PCMA and G722, keeping between packets the state
// G.722 and the resampling filters need. One Transcoder serves one
// direction of one call; it is not safe for concurrent use.
type Transcoder struct {
	from, to Codec
	enc      G722Encoder
	dec      G722Decoder
	up       upsampler
	down     downsampler
	pcm8     [transcodeChunk]int16
	pcm16    [2 * transcodeChunk]int16
}

func transcodable(c Codec) bool { return c == PCMU || c == PCMA || c == G722 }

// NewTranscoder returns a Transcoder from one codec to another; both
// must be among PCMU, PCMA and G722.
func NewTranscoder(from, to Codec) (*Transcoder, error) {
	if !transcodable(from) || !transcodable(to) {
		return nil, fmt.Errorf("transcode %s to %s: only PCMU, PCMA and G722", from, to)
	}
	t := &Transcoder{from: from, to: to}
	t.enc.Reset()
	t.dec.Reset()
	return t, nil
}

// From returns the codec the Transcoder reads.
func (t *Transcoder) From() Codec { return t.from }

// To returns the codec the Transcoder writes.
func (t *Transcoder) To() Codec { return t.to }

// Transcode converts the payload src into dst and returns the bytes
// written: min(len(src), len(dst)). Output byte i covers the same time as
// input byte i.
func (t *Transcoder) Transcode(dst, src []byte) int {
	n := min(len(src), len(dst))
	for off := 0; off < n; off += transcodeChunk {
		end := min(off+transcodeChunk, n)
		t.chunk(dst[off:end], src[off:end])
	}
	return n
}

func (t *Transcoder) chunk(dst, src []byte) {
	n := len(src)
	pcm8, pcm16 := t.pcm8[:n], t.pcm16[:2*n]
	switch {
	case t.from == t.to:
		copy(dst, src)
	case t.from == G722: // G.722 → G.711
		t.dec.Decode(pcm16, src)
		t.down.run(pcm8, pcm16)
		t.to.Encode(dst, pcm8)
	case t.to == G722: // G.711 → G.722
		t.from.Decode(pcm8, src)
		t.up.run(pcm16, pcm8)
		t.enc.Encode(dst, pcm16)
	default: // one G.711 law to the other
		t.from.Decode(pcm8, src)
		t.to.Encode(dst, pcm8)
	}
}

// Format is the audio codec one leg's SDP agreed on: one of PCMU, PCMA
// and G722, and the RTP payload type it has on that leg.
type Format struct {
	Codec Codec
	PT    uint8
}

// xcode is the transcoding of the RTP arriving on one leg.
type xcode struct {
	t           *Transcoder
	inPT, outPT uint8
}

// Transcode makes the relay convert the audio between the legs: RTP of
// payload type a.PT arriving from leg A goes to leg B as b.Codec with
// payload type b.PT, and the other way round. RTP of other payload types
// (RFC 4733 telephone-events, comfort noise) and RTCP pass unchanged.
// Sequence numbers, timestamps and SSRCs are kept, so RTCP reports stay
// true. The Tap (a Recorder) and a Monitor get the G.711 side of each
// packet. Equal formats turn transcoding off. A call that changes the
// formats starts both directions' codec state afresh; one that does not
// changes nothing.
func (r *Relay) Transcode(a, b Format) error {
	if a == b {
		r.legs[LegA].xc.Store(nil)
		r.legs[LegB].xc.Store(nil)
		return nil
	}
	if x := r.legs[LegA].xc.Load(); x != nil && x.inPT == a.PT && x.outPT == b.PT && x.t.from == a.Codec && x.t.to == b.Codec {
		return nil // a re-INVITE that changed nothing: keep the codec state
	}
	ab, err := NewTranscoder(a.Codec, b.Codec)
	if err != nil {
		return err
	}
	ba, err := NewTranscoder(b.Codec, a.Codec)
	if err != nil {
		return err
	}
	r.legs[LegA].xc.Store(&xcode{t: ab, inPT: a.PT, outPT: b.PT})
	r.legs[LegB].xc.Store(&xcode{t: ba, inPT: b.PT, outPT: a.PT})
	return nil
}

// rtpPayloadOffset returns where p's payload starts in data, the packet
// it was parsed from (or a copy of it).
func rtpPayloadOffset(data []byte, p *rtp.Packet) int {
	pad := 0
	if p.Padding && len(data) > 0 {
		pad = int(data[len(data)-1])
	}
	return len(data) - len(p.Payload) - pad
}

// apply writes into out the packet data with its payload (at off, n bytes
// long) transcoded, its payload type changed and no padding, and returns
// it.
func (x *xcode) apply(out, data []byte, off, n int) []byte {
	if off < 0 || off+n > len(data) || off+n > len(out) {
		return data
	}
	copy(out, data[:off])
	out[0] &^= 0x20 // no padding
	out[1] = out[1]&0x80 | x.outPT&0x7f
	m := x.t.Transcode(out[off:off+n], data[off:off+n])
	return out[:off+m]
}

// transcodeNow reports whether the packet p from this leg is transcoded
// and, if so, whether before the monitor and tap see it (it becomes G.711)
// or only just before it is sent (it becomes G.722: they get the G.711 it
// came as).
func (x *xcode) transcodeNow(p *rtp.Packet) (yes, early bool) {
	if x == nil || p.PayloadType != x.inPT {
		return false, false
	}
	return true, x.t.to != G722
}
