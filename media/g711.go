package media

import "fmt"

// Codec is an audio codec: a G.711 companding law, or G722. Its value is
// the codec's static RTP payload type (RFC 3551).
type Codec uint8

// The two G.711 laws.
const (
	PCMU Codec = 0 // μ-law, North America and Japan
	PCMA Codec = 8 // A-law, everywhere else
)

// String returns the codec's RTP encoding name.
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	case G722:
		return "G722"
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

// Decode expands G.711 bytes in src to 16-bit linear samples in dst and
// returns the number of samples written: min(len(dst), len(src)). Any other
// codec decodes to silence (G722 is stateful: see G722Decoder).
func (c Codec) Decode(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	switch c {
	case PCMU:
		for i, b := range src {
			dst[i] = ulawDecode[b]
		}
	case PCMA:
		for i, b := range src {
			dst[i] = alawDecode[b]
		}
	default:
		clear(dst)
	}
	return n
}

// Encode compresses 16-bit linear samples in src into G.711 bytes in dst and
// returns the number of bytes written: min(len(dst), len(src)). Any other
// codec encodes nothing (see G722Encoder).
func (c Codec) Encode(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	switch c {
	case PCMU:
		for i, s := range src {
			dst[i] = ulawEncode[uint16(s)>>2]
		}
	case PCMA:
		for i, s := range src {
			dst[i] = alawEncode[uint16(s)>>3]
		}
	default:
		return 0
	}
	return n
}

// Lookup tables, built once from the reference algorithms below. μ-law looks
// only at the top 14 bits of a sample and A-law at the top 13, so the encode
// tables are indexed by those bits (16 KiB + 8 KiB); decoding is one lookup.
var (
	ulawDecode = decodeTable(ulawToLinear)
	alawDecode = decodeTable(alawToLinear)
	ulawEncode = encodeTable(1<<14, 2, linearToULaw)
	alawEncode = encodeTable(1<<13, 3, linearToALaw)
)

func decodeTable(f func(byte) int16) *[256]int16 {
	var t [256]int16
	for i := range t {
		t[i] = f(byte(i))
	}
	return &t
}

func encodeTable(size int, shift uint, f func(int16) byte) []byte {
	t := make([]byte, size)
	for i := range t {
		t[i] = f(int16(uint16(i << shift)))
	}
	return t
}

// The reference algorithms follow Sun Microsystems' public-domain g711.c
// (the 13/14-bit version also used by the ITU-T G.191 tools).

var (
	ulawSegEnd = [8]int{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}
	alawSegEnd = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
)

func segment(v int, ends *[8]int) int {
	for i, e := range ends {
		if v <= e {
			return i
		}
	}
	return len(ends)
}

func linearToULaw(s int16) byte {
	const (
		bias = 0x84 >> 2
		clip = 8159
	)
	v := int(s) >> 2
	mask := byte(0xFF)
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	v = min(v, clip) + bias
	seg := segment(v, &ulawSegEnd)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	return (byte(seg<<4) | byte(v>>(seg+1))&0x0F) ^ mask
}

func ulawToLinear(u byte) int16 {
	const bias = 0x84
	u = ^u
	t := (int(u&0x0F) << 3) + bias
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(bias - t)
	}
	return int16(t - bias)
}

func linearToALaw(s int16) byte {
	v := int(s) >> 3
	mask := byte(0xD5)
	if v < 0 {
		v = -v - 1
		mask = 0x55
	}
	seg := segment(v, &alawSegEnd)
	if seg >= 8 {
		return 0x7F ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte(v>>1) & 0x0F
	} else {
		a |= byte(v>>seg) & 0x0F
	}
	return a ^ mask
}

func alawToLinear(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
