package sip

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// hearTone reads n RTP packets of PCMU at p and returns the tone's
// frequency, estimated from zero crossings.
func (p *callPhone) hearTone(t *testing.T, n int) float64 {
	t.Helper()
	buf := make([]byte, 1500)
	var pcm []int16
	for range n {
		p.rtp.SetReadDeadline(time.Now().Add(waitLimit))
		k, _, err := p.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("phone %s: no rtp: %v", p.ext, err)
		}
		var pk rtp.Packet
		if pk.Unmarshal(buf[:k]) != nil || pk.PayloadType != 0 || bytes.HasPrefix(pk.Payload, []byte("from ")) {
			continue
		}
		s := make([]int16, len(pk.Payload))
		media.PCMU.Decode(s, pk.Payload)
		pcm = append(pcm, s...)
	}
	p.rtp.SetReadDeadline(time.Time{})
	return zeroCrossFreq(pcm)
}

// TestParkMusicOnHold: with park.moh a WAV of a 500 Hz tone, the parked
// caller hears it, through the relay from the PBX's own endpoint on the
// parker's empty leg, until 10003 takes the call; then the music stops
// and 10001 and 10003 hear each other.
func TestParkMusicOnHold(t *testing.T) {
	moh := toneWAV(t, 500, 600)
	cs, _, ph, sess, dlgB := parkSetup(t, map[string]string{directory.SettingParkMOH: moh})
	pa, pb, pc := ph["10001"], ph["10002"], ph["10003"]
	parkCall(t, cs, pb, dlgB, "*70", "SIP/2.0 200 Parked at 701")
	wait(t, pb.ended, "BYE at the parker")
	if f := pa.hearTone(t, 25); f < 475 || f > 525 {
		t.Errorf("the parked caller hears %.0f Hz, want the music's 500 Hz", f)
	}

	sc, err := pc.dial(t.Context(), "701")
	if err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	orbitFree(t, cs, "701")
	pa.drain()
	pa.quiet(t, "music after the call was taken")
	pa.sendRTP(t, pc, 10)
	pc.sendRTP(t, pa, 10)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pc.ended, "BYE at the retriever")
	sc.Close()
	cs.noCallLeft(t)
}

// TestParkMusicMissingFile: a park.moh that names no readable WAV leaves
// parked callers in silence, and the call is parked and taken as ever.
func TestParkMusicMissingFile(t *testing.T) {
	cs, _, ph, sess, dlgB := parkSetup(t, map[string]string{directory.SettingParkMOH: "/nonexistent/moh.wav"})
	pa, pb, pc := ph["10001"], ph["10002"], ph["10003"]
	parkCall(t, cs, pb, dlgB, "*70", "SIP/2.0 200 Parked at 701")
	wait(t, pb.ended, "BYE at the parker")
	pa.drain()
	pa.quiet(t, "a parked call without music")
	sc, err := pc.dial(t.Context(), "701")
	if err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	pa.sendRTP(t, pc, 10)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pc.ended, "BYE at the retriever")
	sc.Close()
	cs.noCallLeft(t)
}
