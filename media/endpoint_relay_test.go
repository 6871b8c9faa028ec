package media

import (
	"context"
	"net/netip"
	"testing"

	"github.com/pion/rtp"
)

// TestEndpointOnRelayLeg: an Endpoint in the place of a relay leg's phone
// (music on hold into a parked call, a greeting) is heard by the party on
// the other leg, with the continuity of one stream. The relay latches to
// the endpoint at once: its address is the one the leg was given.
func TestEndpointOnRelayLeg(t *testing.T) {
	pool := testPool(t, 3)
	r, err := NewRelay(RelayConfig{Pool: pool, IP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	phone := newEndpoint(t)
	r.SetRemote(LegA, phone.addr(), netip.AddrPort{})
	// The phone talks first (as it did before its peer left).
	phone.send(r.Local(LegA), onePacket(1, 0, 0xabc))

	ep, err := NewEndpoint(EndpointConfig{Pool: pool, IP: netip.MustParseAddr("127.0.0.1"), Codec: PCMU})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	ep.SetRemote(r.Local(LegB))
	r.SetRemote(LegB, ep.Local(), netip.AddrPort{})
	go func() { _ = ep.Run(ctx) }()
	ep.Play(Tone(500, 200, -6), true)

	for range 5 {
		b, from := phone.recv()
		var p rtp.Packet
		if err := p.Unmarshal(b); err != nil {
			t.Fatalf("not rtp: %v", err)
		}
		if from != r.Local(LegA) || p.PayloadType != 0 || len(p.Payload) != 160 {
			t.Fatalf("got pt %d, %d bytes from %s", p.PayloadType, len(p.Payload), from)
		}
	}
	cancel()
	<-done
}

func onePacket(seq uint16, ts uint32, ssrc uint32) []byte {
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc},
		Payload: make([]byte, 160)}).Marshal()
	return b
}
