package media

import (
	"net/netip"
	"sync/atomic"
)

// LegStats counts what a relay received from one leg's endpoint. Expected
// and Lost come from RTP sequence numbers (RFC 3550 §6.4.1, appendix A.3)
// summed over every SSRC the leg used.
type LegStats struct {
	Packets, Bytes         uint64 // RTP accepted from the leg's source
	RTCPPackets, RTCPBytes uint64 // RTCP accepted, on the RTCP port or muxed
	Expected               uint64 // RTP packets the sequence numbers say were sent
	Lost                   uint64 // Expected minus received, never below zero
	Rejected               uint64 // datagrams from a source other than the latched one
	Invalid                uint64 // datagrams that are neither RTP nor RTCP
	Dropped                uint64 // accepted but not relayed: no destination yet, or the send failed
	AuthFailed             uint64 // SRTP/SRTCP dropped: failed authentication or replayed
	Source                 netip.AddrPort
	SSRC                   uint32
}

// LossRate returns Lost/Expected, or 0 before any packet.
func (s LegStats) LossRate() float64 {
	if s.Expected == 0 {
		return 0
	}
	return float64(s.Lost) / float64(s.Expected)
}

// seqTracker follows one leg's RTP sequence numbers as in RFC 3550
// appendix A.1: it extends them over wrap-around, tolerates reordering and
// duplicates, and treats a large jump confirmed by the next packet, or a new
// SSRC, as a new sequence whose counts add to the earlier ones.
type seqTracker struct {
	started  bool
	ssrc     uint32
	base     uint32 // first sequence number of this run
	maxSeq   uint16
	cycles   uint32 // wrap-arounds × 65536
	badSeq   uint32 // the sequence number that would confirm a jump; > 0xFFFF: none
	received uint64

	// Totals of earlier runs (SSRC changes, restarts).
	prevExpected, prevReceived uint64
}

const (
	maxDropout  = 3000 // a forward jump up to this is loss, not a restart
	maxMisorder = 100  // a backward step up to this is reordering
)

func (s *seqTracker) update(ssrc uint32, seq uint16) {
	if !s.started || ssrc != s.ssrc {
		s.restart(ssrc, seq)
		return
	}
	switch d := seq - s.maxSeq; {
	case d < maxDropout:
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
		s.received++
	case d <= 1<<16-maxMisorder:
		// A big jump: believe it only when the next packet follows it.
		if uint32(seq) == s.badSeq {
			s.restart(ssrc, seq)
			return
		}
		s.badSeq = uint32(seq+1) & 0xFFFF
	default:
		s.received++ // late or duplicate
	}
}

func (s *seqTracker) restart(ssrc uint32, seq uint16) {
	if s.started {
		s.prevExpected += s.runExpected()
		s.prevReceived += s.received
	}
	s.started = true
	s.ssrc = ssrc
	s.base = uint32(seq)
	s.maxSeq = seq
	s.cycles = 0
	s.badSeq = 1 << 17
	s.received = 1
}

func (s *seqTracker) runExpected() uint64 {
	if !s.started {
		return 0
	}
	return uint64(s.cycles) + uint64(s.maxSeq) - uint64(s.base) + 1
}

// counts returns the packets expected and lost so far.
func (s *seqTracker) counts() (expected, lost uint64) {
	expected = s.prevExpected + s.runExpected()
	received := s.prevReceived + s.received
	if received < expected {
		lost = expected - received
	}
	return expected, lost
}

// RelayCounters counts what the relays on one PortPool did with the
// datagrams that reached their sockets, every leg together, since the pool
// was made. A datagram read is rejected (not from the leg's phone: see
// PortPool.Rejected), invalid, forwarded, or dropped for one of the
// reasons below; the kernel's own drops on a full socket are counted too.
type RelayCounters struct {
	Received  uint64 // datagrams read from the relays' sockets
	Forwarded uint64 // datagrams handed to the kernel to send on

	// Dropped after they were accepted, by reason.
	NoDestination uint64 // the other leg has no address yet, or one its socket cannot reach
	SendErrors    uint64 // the kernel refused the send (a full socket buffer, an unreachable port)
	RingFull      uint64 // the io_uring submission queue refused more for the moment
	SRTPErrors    uint64 // encrypting for an SRTP leg failed
	// RecvOverflow counts datagrams the kernel dropped because a relay
	// socket's receive queue was full (SO_RXQ_OVFL): lost before the relay
	// could read them.
	RecvOverflow uint64
	// NoBuffers counts the times an io_uring read found none of the
	// poller's buffers free. Nothing is lost then by itself: datagrams
	// wait in the socket until the buffers come back (or overflow it,
	// counted in RecvOverflow).
	NoBuffers uint64
}

// Dropped returns the datagrams lost in the relay or in its sockets'
// receive queues.
func (c RelayCounters) Dropped() uint64 {
	return c.NoDestination + c.SendErrors + c.RingFull + c.SRTPErrors + c.RecvOverflow
}

// LossRate returns the share of the datagrams that reached the relay's
// sockets that it did not forward because of a drop, or 0 before any.
func (c RelayCounters) LossRate() float64 {
	if n := c.Received + c.RecvOverflow; n > 0 {
		return float64(c.Dropped()) / float64(n)
	}
	return 0
}

// dropReason is why an accepted datagram was not relayed.
type dropReason uint8

const (
	dropNoDestination dropReason = iota
	dropSendError
	dropRingFull
	dropSRTP
	dropReasons
)

// relayCounts is a PortPool's RelayCounters as they are kept, each count
// on a cache line of its own: the pollers add to them for each batch.
type relayCounts struct {
	received, forwarded, overflow, noBuffers paddedCount
	dropped                                  [dropReasons]paddedCount
}

type paddedCount struct {
	atomic.Uint64
	_ [56]byte
}

func (c *relayCounts) load() RelayCounters {
	return RelayCounters{
		Received:      c.received.Load(),
		Forwarded:     c.forwarded.Load(),
		NoDestination: c.dropped[dropNoDestination].Load(),
		SendErrors:    c.dropped[dropSendError].Load(),
		RingFull:      c.dropped[dropRingFull].Load(),
		SRTPErrors:    c.dropped[dropSRTP].Load(),
		RecvOverflow:  c.overflow.Load(),
		NoBuffers:     c.noBuffers.Load(),
	}
}
