package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestRelayKeepsStreamContinuousAcrossSources: the leg A side changes
// phone (a transfer): the new phone's stream reaches B with the first
// SSRC, sequence numbers that follow on and timestamps advanced by the
// time that passed; a late packet of the first phone keeps its place.
func TestRelayKeepsStreamContinuousAcrossSources(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r, _ := newRelay(t, RelayConfig{clock: clk})
	a, b, c := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	recv := func() rtp.Packet {
		t.Helper()
		got, _ := b.recv()
		var p rtp.Packet
		if err := p.Unmarshal(got); err != nil {
			t.Fatal(err)
		}
		return p
	}
	payload := []byte{1, 2, 3}
	for i := range 5 {
		a.send(r.Local(LegA), rtpPacket(0, uint16(65533+i), uint32(1000+160*i), 0xA, false, payload))
		if p := recv(); p.SSRC != 0xA || p.SequenceNumber != uint16(65533+i) || p.Timestamp != uint32(1000+160*i) {
			t.Fatalf("first stream changed: %+v", p.Header)
		}
		clk.advance(20 * time.Millisecond)
	}
	// The first stream's last packet went out as seq 1, ts 1640.
	clk.advance(980 * time.Millisecond) // a second after it
	r.SetRemote(LegA, c.addr(), netip.AddrPort{})
	for i := range 3 {
		c.send(r.Local(LegA), rtpPacket(0, uint16(40000+i), uint32(700000+160*i), 0xC, i == 0, payload))
		p := recv()
		if p.SSRC != 0xA || p.SequenceNumber != uint16(2+i) || p.Timestamp != uint32(1640+8000+160*i) {
			t.Errorf("new stream packet %d: ssrc %x seq %d ts %d, want a, %d, %d", i, p.SSRC, p.SequenceNumber,
				p.Timestamp, 2+i, 1640+8000+160*i)
		}
		if string(p.Payload) != string(payload) || p.Marker != (i == 0) {
			t.Errorf("new stream packet %d: payload or marker changed", i)
		}
		clk.advance(20 * time.Millisecond)
	}
	if s := r.Stats(LegA); s.SSRC != 0xC {
		t.Errorf("leg a stats show ssrc %x, want the new phone's (stats see what arrives)", s.SSRC)
	}
}

func TestContinuityLatePacketOfThePreviousStream(t *testing.T) {
	var c continuity
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	send := func(ssrc uint32, seq uint16, ts uint32) rtp.Header {
		data := rtpPacket(0, seq, ts, ssrc, false, []byte{0})
		var p rtp.Packet
		if err := p.Unmarshal(data); err != nil {
			t.Fatal(err)
		}
		c.apply(data, &p, now)
		var out rtp.Packet
		if err := out.Unmarshal(data); err != nil {
			t.Fatal(err)
		}
		now = now.Add(20 * time.Millisecond)
		return out.Header
	}
	send(1, 10, 100)
	send(1, 11, 260)
	if h := send(2, 500, 9000); h.SSRC != 1 || h.SequenceNumber != 12 || h.Timestamp != 420 {
		t.Fatalf("new stream: %+v", h)
	}
	// Packet 9 of the first stream, late: its own numbering, not the new one's.
	if h := send(1, 9, 0xFFFFFFC4); h.SSRC != 1 || h.SequenceNumber != 9 {
		t.Errorf("late packet of the first stream: %+v", h)
	}
	if h := send(2, 501, 9160); h.SequenceNumber != 13 || h.Timestamp != 580 {
		t.Errorf("new stream after the late one: %+v", h)
	}
	// A third stream follows the second.
	if h := send(3, 7, 7); h.SSRC != 1 || h.SequenceNumber != 14 || h.Timestamp != 740 {
		t.Errorf("third stream: %+v", h)
	}
}
