package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestRelayTranscodes: a G.722 phone on leg A and a PCMU phone on leg B
// hear each other's tone through a real relay; headers stay, payload
// types change, telephone-events pass untouched, and the recording has
// both tones in G.711 at 8 kHz.
func TestRelayTranscodes(t *testing.T) {
	t.Parallel()
	r, a, b := connectedRelay(t, RelayConfig{})
	if err := r.Transcode(Format{Codec: G722, PT: 9}, Format{Codec: PCMU, PT: 0}); err != nil {
		t.Fatal(err)
	}
	rec, path := newTestRecorder(t)
	r.SetTap(rec)

	const packets = 25
	toneA := sine(packets*320, 440, 16000, 10000) // leg A says 440 Hz in G.722
	toneB := sine(packets*160, 1000, 8000, 10000) // leg B says 1000 Hz in PCMU
	enc := NewG722Encoder()
	dec := NewG722Decoder()
	var heardA, heardB []int16
	var in rtp.Packet
	for i := range packets {
		seq, ts := uint16(100+i), uint32(8000+160*i)
		g := make([]byte, 160)
		enc.Encode(g, toneA[320*i:320*(i+1)])
		a.send(r.Local(LegA), rtpPacket(9, seq, ts, 0xA, i == 0, g))
		raw, _ := b.recv()
		if err := in.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if in.PayloadType != 0 || in.SequenceNumber != seq || in.Timestamp != ts || in.SSRC != 0xA ||
			in.Marker != (i == 0) || len(in.Payload) != 160 {
			t.Fatalf("at leg b: %v, want PCMU with the header of the G.722 packet sent", in.Header)
		}
		pcm := make([]int16, 160)
		PCMU.Decode(pcm, in.Payload)
		heardB = append(heardB, pcm...)

		u := make([]byte, 160)
		PCMU.Encode(u, toneB[160*i:160*(i+1)])
		b.send(r.Local(LegB), rtpPacket(0, seq, ts, 0xB, false, u))
		raw, _ = a.recv()
		if err := in.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if in.PayloadType != 9 || in.SequenceNumber != seq || in.Timestamp != ts || len(in.Payload) != 160 {
			t.Fatalf("at leg a: %v, want G.722 with the header of the PCMU packet sent", in.Header)
		}
		pcm = make([]int16, 320)
		dec.Decode(pcm, in.Payload)
		heardA = append(heardA, pcm...)
	}
	// After the first 100 ms, each hears the other's tone and not its own.
	if p, q := power(heardB[800:], 440, 8000), power(heardB[800:], 1000, 8000); p < 1e6 || p < 1000*q {
		t.Errorf("leg b hears 440 Hz at %.3g, 1000 Hz at %.3g", p, q)
	}
	if p, q := power(heardA[1600:], 1000, 16000), power(heardA[1600:], 440, 16000); p < 1e6 || p < 1000*q {
		t.Errorf("leg a hears 1000 Hz at %.3g, 440 Hz at %.3g", p, q)
	}

	// An RFC 4733 event from the G.722 side is not audio: it passes as is.
	ev := rtpPacket(101, 200, 12000, 0xA, true, []byte{1, 0x80, 0, 160})
	a.send(r.Local(LegA), ev)
	if raw, _ := b.recv(); string(raw) != string(ev) {
		t.Errorf("telephone-event changed on its way: %x, sent %x", raw, ev)
	}

	r.SetTap(nil)
	rec.Close()
	w := readWAV(t, path)
	checkTone(t, "left (the G.722 phone)", w.left, 100*time.Millisecond, 500*time.Millisecond, 440, 1000)
	checkTone(t, "right (the PCMU phone)", w.right, 100*time.Millisecond, 500*time.Millisecond, 1000, 440)

	// Transcode with equal formats turns it off: bytes pass unchanged.
	if err := r.Transcode(Format{Codec: PCMU, PT: 0}, Format{Codec: PCMU, PT: 0}); err != nil {
		t.Fatal(err)
	}
	pkt := rtpPacket(9, 300, 20000, 0xA, false, make([]byte, 160))
	a.send(r.Local(LegA), pkt)
	if raw, _ := b.recv(); string(raw) != string(pkt) {
		t.Error("transcoding still on")
	}
	if err := r.Transcode(Format{Codec: Codec(18), PT: 18}, Format{Codec: PCMU}); err == nil {
		t.Error("Transcode from G.729: no error")
	}
}
