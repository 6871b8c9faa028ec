package media

import (
	"time"

	"github.com/pion/rtp"
)

// Packet is an RTP packet as a Tap sees it.
type Packet struct {
	PayloadType    uint8
	Marker         bool
	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	// Payload aliases the relay's read buffer (padding removed): it is valid
	// only during the Tap call.
	Payload []byte
	// Arrival is when the relay read the packet.
	Arrival time.Time
}

// Tap receives the RTP packets a relay accepts from either leg, before the
// relay reads the next packet of that leg. It is called from the relay's
// reader goroutines, for both legs concurrently; it must not block and must
// not keep p or p.Payload after it returns. A Recorder is a Tap.
type Tap interface {
	RTP(l Leg, p *Packet)
}

// maxPacket is the read buffer per socket: an Ethernet MTU and then some.
// A larger datagram is truncated by the kernel and then fails to parse or is
// relayed cut, which only a broken or hostile peer would cause.
const maxPacket = 2048

// packetKind is what the first bytes of a datagram on an RTP port say it is.
type packetKind uint8

const (
	kindInvalid packetKind = iota
	kindRTP
	kindRTCP // RTCP multiplexed on the RTP port (RFC 5761)
)

// parseRTP classifies buf and, for RTP, fills p (reusing its slices, so the
// hot path does not allocate) with p.Payload aliasing buf. It never panics.
func parseRTP(buf []byte, p *rtp.Packet) packetKind {
	// RFC 3550 §5.1: version 2. pion/rtp does not check the version, so this
	// is done here first.
	if len(buf) < 2 || buf[0]>>6 != 2 {
		return kindInvalid
	}
	// RFC 5761 §4: RTCP packet types 192-223 land on payload types 64-95
	// with the marker bit set; no RTP profile may use them.
	if buf[1] >= 192 && buf[1] <= 223 {
		if isRTCP(buf) {
			return kindRTCP
		}
		return kindInvalid
	}
	if len(buf) < 12 || p.Unmarshal(buf) != nil {
		return kindInvalid
	}
	return kindRTP
}

// isRTCP reports whether buf starts like an RTCP packet: version 2, a packet
// type in 192-223 and at least the 8 bytes of a header with sender SSRC.
// RTCP is relayed opaquely, so nothing more is parsed.
func isRTCP(buf []byte) bool {
	return len(buf) >= 8 && buf[0]>>6 == 2 && buf[1] >= 192 && buf[1] <= 223
}
