package media

// G.722 (ITU-T G.722, 09/2012) at 64 kbit/s: sub-band ADPCM of 16 kHz audio.
// A quadrature mirror filter splits the signal into a lower band (0-4 kHz),
// coded with 6 bits a sample, and a higher band (4-8 kHz) with 2 bits; each
// pair of 16 kHz input samples becomes one byte (higher band in the top two
// bits). RFC 3551 §4.5.2: its RTP clock rate is 8000 although the audio is
// sampled at 16 kHz, so one byte is one timestamp unit, as with G.711.
//
// Written from the recommendation's block descriptions (blocks 1L-6L for
// the lower band, 1H-6H for the higher band, and the common adaptive
// predictor of block 4); the names of the state variables are the
// recommendation's. The arithmetic is the recommendation's fixed-point
// arithmetic, so that a frame decodes the same here as on a phone.

// G722 is the RTP static payload type of G.722 (RFC 3551).
const G722 Codec = 9

// g722Band is the ADPCM state of one sub-band: the adaptive predictor
// (block 4) and the quantizer scale factor (block 3).
type g722Band struct {
	s  int // predicted signal estimate
	sp int // pole section's part of s
	sz int // zero section's part of s
	r  [3]int
	a  [3]int // pole predictor coefficients (a[1], a[2])
	ap [3]int
	p  [3]int // partial reconstructed signals
	d  [7]int // quantized difference signals
	b  [7]int // zero predictor coefficients (b[1]..b[6])
	bp [7]int
	sg [7]int
	nb int // logarithmic quantizer scale factor
	de int // quantizer scale factor (DETL, DETH)
}

// Tables of the recommendation.
var (
	// q6: decision levels of the 6-bit lower-band quantizer (block 1L).
	g722Q6 = [32]int{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786,
		858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0}
	// iln, ilp: lower-band codes for negative and positive differences.
	g722ILN = [32]int{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15,
		14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0}
	g722ILP = [32]int{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43,
		42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0}
	// wl, rl42: lower-band scale factor multipliers (block 3L).
	g722WL   = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722RL42 = [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	// ilb: the anti-logarithm table of both scale factors.
	g722ILB = [32]int{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656,
		2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676,
		3756, 3838, 3922, 4008}
	// qm4: the 4-bit inverse quantizer of the lower band's predictor path.
	g722QM4 = [16]int{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968,
		6288, 4240, 2584, 1200, 0}
	// qm6: the 6-bit inverse quantizer of the lower band's output (64 kbit/s mode).
	g722QM6 = [64]int{-136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512,
		-12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464,
		-4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008,
		16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944,
		4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136}
	// Higher band (blocks 1H-3H).
	g722IHN = [3]int{0, 1, 0}
	g722IHP = [3]int{0, 3, 2}
	g722QM2 = [4]int{-7408, -1616, 7408, 1616}
	g722WH  = [3]int{0, -214, 798}
	g722RH2 = [4]int{2, 1, 2, 1}
	// The QMF's 24 coefficients, symmetric: h[i] = h[23-i].
	g722QMF = [12]int{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
)

func sat16(v int) int {
	return min(max(v, -32768), 32767)
}

// scale turns a logarithmic scale factor into the linear one (blocks 3L
// SCALEL and 3H SCALEH); shift is 8 for the lower band, 10 for the higher.
func scale(nb, shift int) int {
	wd1 := (nb >> 6) & 31
	wd2 := shift - (nb >> 11)
	var wd3 int
	if wd2 < 0 {
		wd3 = g722ILB[wd1] << -wd2
	} else {
		wd3 = g722ILB[wd1] >> wd2
	}
	return wd3 << 2
}

// adapt runs block 4 on a band: it takes the quantized difference d,
// reconstructs the signal, adapts the pole and zero predictors and
// computes the next estimate s.
func (b *g722Band) adapt(d int) {
	// RECONS and PARREC.
	b.d[0] = d
	b.r[0] = sat16(b.s + d)
	b.p[0] = sat16(b.sz + d)

	// UPPOL2: the second pole coefficient.
	for i := range 3 {
		b.sg[i] = b.p[i] >> 15
	}
	wd1 := sat16(b.a[1] << 2)
	wd2 := wd1
	if b.sg[0] == b.sg[1] {
		wd2 = -wd1
	}
	wd2 = min(wd2, 32767)
	wd3 := wd2 >> 7
	if b.sg[0] == b.sg[2] {
		wd3 += 128
	} else {
		wd3 -= 128
	}
	wd3 += (b.a[2] * 32512) >> 15
	b.ap[2] = min(max(wd3, -12288), 12288)

	// UPPOL1: the first pole coefficient, bounded by the second.
	wd1 = -192
	if b.sg[0] == b.sg[1] {
		wd1 = 192
	}
	b.ap[1] = sat16(wd1 + (b.a[1]*32640)>>15)
	lim := sat16(15360 - b.ap[2])
	b.ap[1] = min(max(b.ap[1], -lim), lim)

	// UPZERO: the six zero coefficients.
	step := 0
	if d != 0 {
		step = 128
	}
	b.sg[0] = d >> 15
	for i := 1; i < 7; i++ {
		b.sg[i] = b.d[i] >> 15
		wd := step
		if b.sg[i] != b.sg[0] {
			wd = -step
		}
		b.bp[i] = sat16(wd + (b.b[i]*32640)>>15)
	}

	// DELAYA: shift the delay lines.
	for i := 6; i > 0; i-- {
		b.d[i] = b.d[i-1]
		b.b[i] = b.bp[i]
	}
	for i := 2; i > 0; i-- {
		b.r[i] = b.r[i-1]
		b.p[i] = b.p[i-1]
		b.a[i] = b.ap[i]
	}

	// FILTEP, FILTEZ and PREDIC: the next estimate.
	wd1 = sat16(b.r[1] + b.r[1])
	wd1 = (b.a[1] * wd1) >> 15
	wd2 = sat16(b.r[2] + b.r[2])
	wd2 = (b.a[2] * wd2) >> 15
	b.sp = sat16(wd1 + wd2)
	sz := 0
	for i := 6; i > 0; i-- {
		wd := sat16(b.d[i] + b.d[i])
		sz += (b.b[i] * wd) >> 15
	}
	b.sz = sat16(sz)
	b.s = sat16(b.sp + b.sz)
}

// lowScale updates the lower band's scale factor from the 4 bits ril of a
// code (blocks 3L LOGSCL and SCALEL).
func (b *g722Band) lowScale(ril int) {
	nb := (b.nb*127)>>7 + g722WL[g722RL42[ril]]
	b.nb = min(max(nb, 0), 18432)
	b.de = scale(b.nb, 8)
}

// highScale does the same for the higher band's 2-bit code (3H LOGSCH and
// SCALEH).
func (b *g722Band) highScale(ih int) {
	nb := (b.nb*127)>>7 + g722WH[g722RH2[ih]]
	b.nb = min(max(nb, 0), 22528)
	b.de = scale(b.nb, 10)
}

func (b *g722Band) reset(det int) { *b = g722Band{de: det} }

// G722Encoder encodes 16 kHz 16-bit audio to G.722 at 64 kbit/s. Its zero
// value is not ready: use NewG722Encoder or Reset. It keeps state from one
// call to the next, so one encoder serves one stream.
type G722Encoder struct {
	band [2]g722Band
	x    [24]int // the transmit QMF's delay line
}

// NewG722Encoder returns an encoder in the initial state.
func NewG722Encoder() *G722Encoder {
	e := new(G722Encoder)
	e.Reset()
	return e
}

// Reset puts the encoder back in its initial state (the recommendation's
// reset: DETL 32, DETH 8, everything else 0).
func (e *G722Encoder) Reset() {
	e.band[0].reset(32)
	e.band[1].reset(8)
	e.x = [24]int{}
}

// Encode codes pairs of samples from src into dst, one byte a pair, and
// returns the bytes written: min(len(dst), len(src)/2). An odd last sample
// is ignored.
func (e *G722Encoder) Encode(dst []byte, src []int16) int {
	n := min(len(dst), len(src)/2)
	for k := range n {
		// Transmit QMF: two new samples in, one lower- and one higher-band
		// sample out.
		copy(e.x[:22], e.x[2:])
		e.x[22] = int(src[2*k])
		e.x[23] = int(src[2*k+1])
		var sumOdd, sumEven int
		for i := range 12 {
			sumOdd += e.x[2*i] * g722QMF[i]
			sumEven += e.x[2*i+1] * g722QMF[11-i]
		}
		xl := (sumEven + sumOdd) >> 14
		xh := (sumEven - sumOdd) >> 14

		// Lower band: blocks 1L (quantizer), 2L, 3L, 4.
		lo := &e.band[0]
		el := sat16(xl - lo.s)
		wd := el
		if el < 0 {
			wd = -(el + 1)
		}
		i := 1
		for ; i < 30; i++ {
			if wd < (g722Q6[i]*lo.de)>>12 {
				break
			}
		}
		il := g722ILP[i]
		if el < 0 {
			il = g722ILN[i]
		}
		ril := il >> 2
		dl := (lo.de * g722QM4[ril]) >> 15
		lo.lowScale(ril)
		lo.adapt(dl)

		// Higher band: blocks 1H, 2H, 3H, 4.
		hi := &e.band[1]
		eh := sat16(xh - hi.s)
		wd = eh
		if eh < 0 {
			wd = -(eh + 1)
		}
		mih := 1
		if wd >= (564*hi.de)>>12 {
			mih = 2
		}
		ih := g722IHP[mih]
		if eh < 0 {
			ih = g722IHN[mih]
		}
		dh := (hi.de * g722QM2[ih]) >> 15
		hi.highScale(ih)
		hi.adapt(dh)

		dst[k] = byte(ih<<6 | il)
	}
	return n
}

// G722Decoder decodes G.722 at 64 kbit/s to 16 kHz 16-bit audio. Like the
// encoder, it needs NewG722Decoder or Reset and serves one stream.
type G722Decoder struct {
	band [2]g722Band
	x    [24]int // the receive QMF's delay line
}

// NewG722Decoder returns a decoder in the initial state.
func NewG722Decoder() *G722Decoder {
	d := new(G722Decoder)
	d.Reset()
	return d
}

// Reset puts the decoder back in its initial state.
func (d *G722Decoder) Reset() {
	d.band[0].reset(32)
	d.band[1].reset(8)
	d.x = [24]int{}
}

// Decode decodes the bytes of src into dst, two samples a byte, and returns
// the samples written: 2*min(len(src), len(dst)/2). Every byte is a valid
// code, so any input decodes.
func (d *G722Decoder) Decode(dst []int16, src []byte) int {
	n := min(len(src), len(dst)/2)
	for k := range n {
		code := int(src[k])
		il, ih := code&0x3f, code>>6

		// Lower band: blocks 5L (output inverse quantizer), 6L, 2L, 3L, 4.
		lo := &d.band[0]
		rl := lo.s + (lo.de*g722QM6[il])>>15
		rl = min(max(rl, -16384), 16383)
		dl := (lo.de * g722QM4[il>>2]) >> 15
		lo.lowScale(il >> 2)
		lo.adapt(dl)

		// Higher band: blocks 2H, 5H, 6H, 3H, 4.
		hi := &d.band[1]
		dh := (hi.de * g722QM2[ih]) >> 15
		rh := min(max(dh+hi.s, -16384), 16383)
		hi.highScale(ih)
		hi.adapt(dh)

		// Receive QMF: one sample of each band in, two samples out.
		copy(d.x[:22], d.x[2:])
		d.x[22] = rl + rh
		d.x[23] = rl - rh
		var out1, out2 int
		for i := range 12 {
			out2 += d.x[2*i] * g722QMF[i]
			out1 += d.x[2*i+1] * g722QMF[11-i]
		}
		dst[2*k] = int16(sat16(out1 >> 11))
		dst[2*k+1] = int16(sat16(out2 >> 11))
	}
	return 2 * n
}
