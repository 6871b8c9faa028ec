package media

import "net/netip"

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
