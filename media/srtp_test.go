package media

import (
	"bytes"
	"testing"

	"github.com/pion/srtp/v3"
)

// srtpPhone is an SRTP endpoint's crypto: it encrypts with its own key
// and decrypts with the key the relay gave it.
type srtpPhone struct {
	t        testing.TB
	enc, dec *srtp.Context
	encRTCP  *srtp.Context
	decRTCP  *srtp.Context
}

func newSRTPPhone(t testing.TB, own, relays []byte) *srtpPhone {
	t.Helper()
	mk := func(k []byte) *srtp.Context {
		c, err := srtp.CreateContext(k[:16], k[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return &srtpPhone{t: t, enc: mk(own), dec: mk(relays), encRTCP: mk(own), decRTCP: mk(relays)}
}

func (p *srtpPhone) seal(plain []byte) []byte {
	out, err := p.enc.EncryptRTP(nil, plain, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

func (p *srtpPhone) open(sealed []byte) []byte {
	out, err := p.dec.DecryptRTP(nil, sealed, nil)
	if err != nil {
		p.t.Fatalf("phone cannot decrypt what the relay sent: %v", err)
	}
	return out
}

// An SRTP phone on leg A talks with a plain phone on leg B: the relay
// decrypts A's packets for B and encrypts B's for A with its own key, in
// both directions, RTCP included; the tap (recordings) sees plain RTP.
func TestRelaySRTPToPlain(t *testing.T) {
	t.Parallel()
	r, a, b := connectedRelay(t, RelayConfig{})
	bRTCP := newEndpoint(t)
	r.SetRemote(LegB, b.addr(), bRTCP.addr())
	phoneKey, relayKey := NewSRTPKey(), NewSRTPKey()
	if err := r.SetSRTP(LegA, &SRTPKeys{Remote: phoneKey, Local: relayKey}); err != nil {
		t.Fatal(err)
	}
	if k := r.SRTP(LegA); k == nil || !bytes.Equal(k.Local, relayKey) || r.SRTP(LegB) != nil {
		t.Fatalf("SRTP(a) = %+v, SRTP(b) = %+v", k, r.SRTP(LegB))
	}
	tap := &collectTap{seen: make(chan struct{}, 64)}
	r.SetTap(tap)
	pa := newSRTPPhone(t, phoneKey, relayKey)

	payload := bytes.Repeat([]byte{0xD5}, 160)
	for i := range 20 {
		plain := rtpPacket(0, uint16(65530+i), uint32(160*i), 0xAAAA, false, payload) // wraps: ROC 1
		sealed := pa.seal(plain)
		a.send(r.Local(LegA), sealed)
		if got, _ := b.recv(); !bytes.Equal(got, plain) {
			t.Fatalf("packet %d: the plain phone got %x, want the decrypted packet", i, got[:12])
		}
		<-tap.seen
		pb := rtpPacket(0, uint16(100+i), uint32(160*i), 0xBBBB, false, payload)
		b.send(r.Local(LegB), pb)
		got, _ := a.recv()
		if bytes.Equal(got, pb) || len(got) != len(pb)+10 {
			t.Fatalf("packet %d: the SRTP phone got plain RTP (%d bytes)", i, len(got))
		}
		if !bytes.Equal(pa.open(got), pb) {
			t.Fatalf("packet %d b→a changed", i)
		}
		<-tap.seen
	}
	tap.mu.Lock()
	for _, g := range tap.got {
		if !bytes.Equal(g.p.Payload, payload) {
			t.Fatalf("tap got an encrypted payload from leg %s", g.leg)
		}
	}
	tap.mu.Unlock()

	// RTCP: SRTCP from A reaches B plain, B's RTCP reaches A as SRTCP.
	rr, err := pa.encRTCP.EncryptRTCP(nil, rtcpRR(0xAAAA), nil)
	if err != nil {
		t.Fatal(err)
	}
	a.send(rtcpPort(r.Local(LegA)), rr)
	if got, _ := bRTCP.recv(); !bytes.Equal(got, rtcpRR(0xAAAA)) {
		t.Fatalf("plain phone's RTCP port got %x", got)
	}
	// A's RTCP latched onto the socket it sent its report from.
	bRTCP.send(rtcpPort(r.Local(LegB)), rtcpRR(0xBBBB))
	got, _ := a.recv()
	if plain, err := pa.decRTCP.DecryptRTCP(nil, got, nil); err != nil || !bytes.Equal(plain, rtcpRR(0xBBBB)) {
		t.Fatalf("SRTP phone's RTCP port got %x (%v), want SRTCP of the plain phone's report", got, err)
	}
	s := r.Stats(LegA)
	if s.Packets != 20 || s.AuthFailed != 0 || s.Rejected != 0 {
		t.Errorf("leg a stats %+v", s)
	}
}

// Packets on an SRTP leg that fail authentication (a forged or garbled
// tag, a replay) are dropped and counted, whoever sends them: the plain
// phone hears only the real ones, and nothing latches onto a forger.
func TestRelaySRTPDropsForgeries(t *testing.T) {
	t.Parallel()
	r, a, b := connectedRelay(t, RelayConfig{})
	phoneKey, relayKey := NewSRTPKey(), NewSRTPKey()
	if err := r.SetSRTP(LegA, &SRTPKeys{Remote: phoneKey, Local: relayKey}); err != nil {
		t.Fatal(err)
	}
	pa := newSRTPPhone(t, phoneKey, relayKey)
	payload := bytes.Repeat([]byte{0x55}, 160)

	good := pa.seal(rtpPacket(0, 1, 160, 0xAAAA, false, payload))
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 0xFF // garbage auth tag
	a.send(r.Local(LegA), bad)
	plainFromA := rtpPacket(0, 2, 320, 0xAAAA, false, payload) // not encrypted at all
	a.send(r.Local(LegA), plainFromA)
	a.send(r.Local(LegA), good)
	if got, _ := b.recv(); !bytes.Equal(got, rtpPacket(0, 1, 160, 0xAAAA, false, payload)) {
		t.Fatalf("plain phone got %x, want the one authentic packet", got[:12])
	}
	a.send(r.Local(LegA), good) // a replay
	next := rtpPacket(0, 3, 480, 0xAAAA, false, payload)
	a.send(r.Local(LegA), pa.seal(next))
	if got, _ := b.recv(); !bytes.Equal(got, next) {
		t.Fatalf("after the replay the plain phone got %x, want packet 3", got[:12])
	}
	s := r.Stats(LegA)
	if s.AuthFailed != 3 || s.Packets != 2 {
		t.Errorf("leg a: %d failed authentication, %d accepted; want 3 and 2 (%+v)", s.AuthFailed, s.Packets, s)
	}
	if r.cfg.Pool.Rejected() != 3 {
		t.Errorf("pool rejected %d, want 3", r.cfg.Pool.Rejected())
	}

	// Back to plain (the leg was pointed at a plain phone): plain RTP flows.
	if err := r.SetSRTP(LegA, nil); err != nil {
		t.Fatal(err)
	}
	p4 := rtpPacket(0, 4, 640, 0xAAAA, false, payload)
	a.send(r.Local(LegA), p4)
	if got, _ := b.recv(); !bytes.Equal(got, p4) {
		t.Fatalf("plain after SetSRTP(nil): got %x", got[:12])
	}
	if err := r.SetSRTP(LegA, &SRTPKeys{Remote: []byte("short"), Local: relayKey}); err == nil {
		t.Error("a short key was taken")
	}
}
