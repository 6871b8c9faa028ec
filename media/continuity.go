package media

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtp"
)

// continuity keeps one direction of a relayed call one RTP stream for the
// receiver. The first SSRC that arrives is forwarded untouched; a new one
// later (another phone after a transfer, a phone that restarted its
// stream) is sent on with the first SSRC, sequence numbers following the
// last ones sent and timestamps advanced by the time that passed, so the
// receiving phone's jitter buffer does not throw the new stream away as
// late or as a stranger. Late packets of the stream before are mapped as
// they were. Timestamps advance at 8 kHz, the RTP clock of G.711, G.722,
// G.729 and telephone-event.
//
// It is used by the reader of one leg only, so it has no lock.
type continuity struct {
	started bool
	ssrc    uint32 // the SSRC that goes out

	cur, prev            uint32 // SSRCs arriving now and before
	hasPrev              bool
	seqOff, prevSeq      uint16 // added to sequence numbers
	tsOff, prevTS        uint32 // added to timestamps
	lastSeq              uint16 // the newest packet sent, in output numbering
	lastTS               uint32
	lastAt               time.Time
	rewrite, prevRewrite bool // whether cur's and prev's packets are changed
}

// rtpClock is the timestamp rate assumed across a change of stream.
const rtpClock = 8000

// apply rewrites the header of data (an RTP packet, parsed in p) when its
// stream is not the first, and notes what went out.
func (c *continuity) apply(data []byte, p *rtp.Packet, now time.Time) {
	seqOff, tsOff, rewrite := c.seqOff, c.tsOff, c.rewrite
	switch {
	case !c.started:
		c.started, c.ssrc, c.cur = true, p.SSRC, p.SSRC
	case p.SSRC == c.cur:
	case c.hasPrev && p.SSRC == c.prev:
		seqOff, tsOff, rewrite = c.prevSeq, c.prevTS, c.prevRewrite
	default: // a new stream: on from the newest packet sent
		c.prev, c.prevSeq, c.prevTS, c.prevRewrite, c.hasPrev = c.cur, c.seqOff, c.tsOff, c.rewrite, true
		gap := max(now.Sub(c.lastAt), 20*time.Millisecond)
		c.cur = p.SSRC
		c.seqOff = c.lastSeq + 1 - p.SequenceNumber
		c.tsOff = c.lastTS + uint32(gap*rtpClock/time.Second) - p.Timestamp
		c.rewrite = true
		seqOff, tsOff, rewrite = c.seqOff, c.tsOff, true
	}
	seq, ts := p.SequenceNumber+seqOff, p.Timestamp+tsOff
	if d := seq - c.lastSeq; d < 0x8000 || c.lastAt.IsZero() { // newer, or the first
		c.lastSeq, c.lastTS, c.lastAt = seq, ts, now
	}
	if rewrite && len(data) >= 12 {
		binary.BigEndian.PutUint16(data[2:4], seq)
		binary.BigEndian.PutUint32(data[4:8], ts)
		binary.BigEndian.PutUint32(data[8:12], c.ssrc)
	}
}
