package sip

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

const (
	g722Only = "m=audio {port} RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
	pcmuOnly = "m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
	g729Only = "m=audio {port} RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
)

// codecVoice is a phone's side of a transcoded conversation: it says a
// tone in its codec and keeps what it hears, decoded.
type codecVoice struct {
	p     *callPhone
	codec media.Codec
	freq  float64
	enc   *media.G722Encoder
	dec   *media.G722Decoder
	heard []int16
	pts   map[uint8]int // payload types heard
}

func newVoice(p *callPhone, c media.Codec, freq float64) *codecVoice {
	return &codecVoice{p: p, codec: c, freq: freq, enc: media.NewG722Encoder(), dec: media.NewG722Decoder(),
		pts: map[uint8]int{}}
}

func (v *codecVoice) rate() float64 {
	if v.codec == media.G722 {
		return 16000
	}
	return 8000
}

// packet returns the i-th 20 ms packet of the tone.
func (v *codecVoice) packet(i int, ssrc uint32) []byte {
	n := 160
	if v.codec == media.G722 {
		n = 320
	}
	pcm := make([]int16, n)
	for j := range pcm {
		pcm[j] = int16(10000 * math.Sin(2*math.Pi*v.freq*float64(i*n+j)/v.rate()))
	}
	payload := make([]byte, 160)
	if v.codec == media.G722 {
		v.enc.Encode(payload, pcm)
	} else {
		v.codec.Encode(payload, pcm)
	}
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: uint8(v.codec), SSRC: ssrc,
		SequenceNumber: uint16(100 + i), Timestamp: uint32(160 * i)}, Payload: payload}).Marshal()
	return raw
}

// hear decodes one packet as the phone's codec would.
func (v *codecVoice) hear(t testing.TB, raw []byte) {
	var p rtp.Packet
	if err := p.Unmarshal(raw); err != nil {
		t.Fatalf("phone %s: %v", v.p.ext, err)
	}
	v.pts[p.PayloadType]++
	pcm := make([]int16, 2*len(p.Payload))
	if v.codec == media.G722 {
		v.dec.Decode(pcm, p.Payload)
	} else {
		pcm = pcm[:v.codec.Decode(pcm, p.Payload)]
	}
	v.heard = append(v.heard, pcm...)
}

// exchange has a and b talk n packets in lock step over the relay: each
// packet is read by the other phone before the next goes.
func exchange(t testing.TB, a, b *codecVoice, n int) {
	t.Helper()
	buf := make([]byte, 1500)
	recv := func(v *codecVoice) {
		m, _, err := v.p.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("phone %s: %v", v.p.ext, err)
		}
		v.hear(t, buf[:m])
	}
	for i := range n {
		for _, s := range []struct{ from, to *codecVoice }{{a, b}, {b, a}} {
			s.from.p.mu.Lock()
			dst := s.from.p.remote
			s.from.p.mu.Unlock()
			if _, err := s.from.p.rtp.WriteToUDPAddrPort(s.from.packet(i, uint32(s.from.freq)), dst); err != nil {
				t.Fatal(err)
			}
			recv(s.to)
		}
	}
}

// checkHeard checks that v heard freq, in its own codec, and not other.
func (v *codecVoice) checkHeard(t testing.TB, freq, other float64) {
	t.Helper()
	if len(v.pts) != 1 || v.pts[uint8(v.codec)] == 0 {
		t.Errorf("phone %s (%s) got payload types %v", v.p.ext, v.codec, v.pts)
	}
	x := v.heard[len(v.heard)/10:]
	p, q := goertzelAt(x, freq, v.rate()), goertzelAt(x, other, v.rate())
	t.Logf("phone %s (%s) hears %.0f Hz at %.3g, %.0f Hz at %.3g", v.p.ext, v.codec, freq, p, other, q)
	if p < 1e6 || p < 1000*q {
		t.Errorf("phone %s (%s): power at %.0f Hz %.3g, at %.0f Hz %.3g: want the other's tone", v.p.ext, v.codec, freq, p, other, q)
	}
}

// goertzelAt is goertzel for samples at rate.
func goertzelAt(x []int16, freq, rate float64) float64 {
	return goertzel(x, freq*8000/rate)
}

// TestCallTranscodesG722ToPCMU: a G.722-only phone calls a PCMU-only one.
// The callee is offered PCMU too, answers with it, and the relay
// transcodes: each phone hears the other's tone in its own codec, the
// caller's answer names G.722 only, and the recording has both tones.
func TestCallTranscodesG722ToPCMU(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	setSetting(t, st, directory.SettingRecording, "all")
	cs, recs := startRecordingServer(t, st, t.TempDir())
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pa.setMedia(g722Only)
	pb.setMedia(pcmuOnly)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	inv := <-pb.invites
	wait(t, pb.incoming, "answered call")
	if body := string(inv.Body()); !strings.Contains(body, "PCMU/8000") || !strings.Contains(body, "G722/8000") {
		t.Errorf("offer to the PCMU phone names not both G722 and PCMU:\n%s", body)
	}
	ans := string(sess.InviteResponse.Body())
	if !strings.Contains(ans, " RTP/AVP 9 101\r\n") || strings.Contains(ans, "PCMU") {
		t.Errorf("answer to the G.722 phone:\n%s\nwant G722 and telephone-event only", ans)
	}
	va, vb := newVoice(pa, media.G722, 440), newVoice(pb, media.PCMU, 1000)
	exchange(t, va, vb, 50)
	va.checkHeard(t, 1000, 440)
	vb.checkHeard(t, 440, 1000)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.ended, "bye at callee")
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	wait(t, recs, "recording row")
	got := recordingsOf(t, st, row.ID)
	if len(got) != 1 || got[0].State != directory.RecordingDone {
		t.Fatalf("recordings of the call: %+v", got)
	}
	left, right := wavChannels(t, got[0].Path)
	mid := func(x []int16) []int16 { return x[len(x)/10 : len(x)*9/10] }
	checkTone(t, "left (the G.722 caller)", mid(left), 440, 1000)
	checkTone(t, "right (the PCMU callee)", mid(right), 1000, 440)
	cs.noCallLeft(t)
}

// TestCallNoCommonCodec: a G.729-only caller shares no codec with a
// PCMU-only callee and the relay transcodes neither: the caller gets 488
// with a Warning (399) naming the codecs on each side, whether the
// callee answered with its PCMU (it then gets a BYE) or refused the
// offer with 488 itself.
func TestCallNoCommonCodec(t *testing.T) {
	st, cs, pa, pb := twoPhones(t, CallConfig{})
	addUser(t, st, "10003")
	pc := newCallPhone(t, cs, "10003", answerRefuse)
	pa.setMedia(g729Only)
	pb.setMedia(pcmuOnly)
	for _, tc := range []struct {
		name, ext string
		callee    *callPhone
		warning   []string
	}{
		{"callee answers PCMU", "10002", pb, []string{"caller offers G729/8000", "callee answers PCMU/8000"}},
		{"callee refuses the offer", "10003", pc, []string{"caller offers G729/8000", "callee refuses G729/8000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pa.dial(t.Context(), tc.ext)
			var de *sipgo.ErrDialogResponse
			if !errors.As(err, &de) || de.Res.StatusCode != 488 {
				t.Fatalf("dial: %v, want 488", err)
			}
			w := de.Res.GetHeader("Warning")
			if w == nil || !strings.HasPrefix(w.Value(), "399 ") {
				t.Fatalf("Warning: %v, want 399 naming the codecs", w)
			}
			t.Logf("Warning: %s", w.Value())
			for _, want := range tc.warning {
				if !strings.Contains(w.Value(), want) {
					t.Errorf("Warning %q does not say %q", w.Value(), want)
				}
			}
			inv := <-tc.callee.invites
			if strings.Contains(string(inv.Body()), "PCMU") {
				t.Errorf("the callee was offered PCMU, which the relay cannot make from G.729:\n%s", inv.Body())
			}
			if tc.callee == pb {
				wait(t, pb.ended, "bye at the callee")
			}
			row := cs.nextCDR(t)
			if row.Disposition != directory.Failed {
				t.Errorf("cdr: %+v", row)
			}
		})
	}
	cs.noCallLeft(t)
}

// TestCallTranscodedHoldAndResume: the G.722 caller of a transcoded call
// puts the PCMU callee on hold and back: each re-INVITE reaches the
// callee with PCMU offered too, the caller's answers name G.722 only, and
// the tones still pass both ways afterwards.
func TestCallTranscodedHoldAndResume(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	pa.setMedia(g722Only)
	pb.setMedia(pcmuOnly)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	for _, dir := range []string{"sendonly", "sendrecv"} {
		req := sip.NewRequest(sip.INVITE, sess.InviteResponse.Contact().Address)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(pa.offer(dir))
		res, err := sess.Do(t.Context(), req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s: %v %v", dir, res, err)
		}
		got := wait(t, pb.reinvite, "re-INVITE at callee")
		if body := string(got.Body()); !strings.Contains(body, "PCMU/8000") {
			t.Errorf("re-INVITE %s reached the PCMU phone without PCMU:\n%s", dir, body)
		}
		if body := string(res.Body()); !strings.Contains(body, " RTP/AVP 9 101\r\n") || strings.Contains(body, "PCMU") {
			t.Errorf("answer to the G.722 phone's re-INVITE %s:\n%s", dir, body)
		}
		ack := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
		if err := sess.WriteRequest(ack); err != nil {
			t.Fatal(err)
		}
		pa.setRemote(res.Body())
	}
	va, vb := newVoice(pa, media.G722, 440), newVoice(pb, media.PCMU, 1000)
	exchange(t, va, vb, 25)
	va.checkHeard(t, 1000, 440)
	vb.checkHeard(t, 440, 1000)
	sess.Bye(t.Context())
	wait(t, pb.ended, "bye at callee")
	if row := cs.nextCDR(t); row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestTransferTranscodes: a PCMU call between A and B, then B transfers
// A to a G.722-only phone C: C is offered G.722 too, answers with it, and
// from then on the relay transcodes; A and C hear each other's tone.
func TestTransferTranscodes(t *testing.T) {
	st, _ := openSQLite(t)
	for _, ext := range []string{"10001", "10002", "10003"} {
		addUser(t, st, ext)
	}
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)
	pa.setMedia(pcmuOnly)
	pb.setMedia(pcmuOnly)
	pc.setMedia(g722Only)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, pb.incoming, "answered call")
	va, vb := newVoice(pa, media.PCMU, 440), newVoice(pb, media.PCMU, 1000)
	exchange(t, va, vb, 5) // no transcoding: PCMU both ways
	if len(va.pts) != 1 || va.pts[0] != 5 || len(vb.pts) != 1 || vb.pts[0] != 5 {
		t.Errorf("before the transfer: A got %v, B got %v, want PCMU only", va.pts, vb.pts)
	}

	if got := calleeSide(pb, dlgB).refer(t, "<sip:10003@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	inv := wait(t, pc.invites, "INVITE at the target")
	if !strings.Contains(string(inv.Body()), "G722/8000") {
		t.Errorf("the G.722 phone was not offered G.722:\n%s", inv.Body())
	}
	wait(t, pc.incoming, "answer by the target")
	wait(t, pb.ended, "BYE at the transferor")

	va, vc := newVoice(pa, media.PCMU, 440), newVoice(pc, media.G722, 1000)
	exchange(t, va, vc, 50)
	va.checkHeard(t, 1000, 440)
	vc.checkHeard(t, 440, 1000)

	cs.nextCDR(t) // the first call, ended by the transfer
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pc.ended, "BYE at the target")
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestCallLateOfferTranscodes: a G.722-only phone calls a PCMU-only one
// with an INVITE without SDP. The callee's offer reaches the caller with
// G.722 added, the caller answers G.722 in its ACK, the callee's ACK names
// PCMU only, and the relay transcodes.
func TestCallLateOfferTranscodes(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	pa.setMedia(g722Only)
	pb.setMedia(pcmuOnly)
	sess, err := pa.dialLate(t.Context(), "10002", func(offer []byte) []byte {
		if !strings.Contains(string(offer), "G722/8000") {
			t.Errorf("offer to the G.722 phone without G.722:\n%s", offer)
		}
		pa.setRemote(offer)
		return pa.offer("sendrecv")
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ack := wait(t, pb.acks, "ACK at callee")
	if body := string(ack.Body()); !strings.Contains(body, " RTP/AVP 0 101\r\n") || strings.Contains(body, "G722") {
		t.Errorf("answer to the PCMU phone in its ACK:\n%s", body)
	}
	wait(t, pb.incoming, "answered call")
	va, vb := newVoice(pa, media.G722, 440), newVoice(pb, media.PCMU, 1000)
	exchange(t, va, vb, 50)
	va.checkHeard(t, 1000, 440)
	vb.checkHeard(t, 440, 1000)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.ended, "bye at callee")
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
