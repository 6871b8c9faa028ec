package sip

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// leaveMessage stores a message of a tone at freq in userID's mailbox.
func leaveMessage(t *testing.T, st directory.Store, userID int64, freq float64, at time.Time) *directory.Voicemail {
	t.Helper()
	path := toneWAV(t, freq, 600)
	v := &directory.Voicemail{UserID: userID, Caller: "10001", StartedAt: at, Duration: 600 * time.Millisecond, Path: path, SHA256: "x"}
	if err := st.CreateVoicemail(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	return v
}

// toneWAV writes a WAV of a tone (8 kHz, 16-bit mono) to a temp file.
func toneWAV(t *testing.T, freq float64, ms int) string {
	t.Helper()
	s := media.Tone(freq, ms, -6).Samples()
	b := make([]byte, 44+2*len(s))
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(s)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(s)))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sendDTMF sends digits from p as RFC 4733 telephone events (type 101).
func (p *callPhone) sendDTMF(t *testing.T, digits string) {
	t.Helper()
	p.mu.Lock()
	dst := p.remote
	p.mu.Unlock()
	seq := uint16(7000)
	for i, d := range digits {
		ev := map[rune]byte{'*': 10, '#': 11}[d]
		if d >= '0' && d <= '9' {
			ev = byte(d - '0')
		}
		for j := range 5 {
			seq++
			pl := []byte{ev, 10, 0, byte(160 * (j + 1))}
			if j >= 3 {
				pl[1] |= 0x80
			}
			raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: seq,
				Timestamp: uint32(1000 * (i + 1)), SSRC: 0x7777, Marker: j == 0}, Payload: pl}).Marshal()
			if _, err := p.rtp.WriteToUDPAddrPort(raw, dst); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// heardTones returns the tones p hears, one entry per run of packets of
// one frequency (rounded to 10 Hz), until the PBX hangs up.
func heardTones(t *testing.T, p *callPhone) []int {
	t.Helper()
	var tones []int
	buf := make([]byte, 1500)
	pcm := make([]int16, 160)
	for {
		select {
		case <-p.ended:
			return tones
		default:
		}
		p.rtp.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := p.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		var pk rtp.Packet
		if pk.Unmarshal(buf[:n]) != nil {
			continue
		}
		media.PCMU.Decode(pcm, pk.Payload)
		if pcm[0] == 0 && pcm[80] == 0 && pcm[159] == 0 {
			continue // silence
		}
		f := int(math.Round(zeroCrossFreq(pcm)/40) * 40)
		if len(tones) == 0 || tones[len(tones)-1] != f {
			tones = append(tones, f)
		}
	}
}

func TestVoicemailRetrieveWithPIN(t *testing.T) {
	st, _ := openSQLite(t)
	bob := addUser(t, st, "10002")
	enableVoicemail(t, st, bob.ID, "2468")
	t0 := time.Now().Add(-time.Hour)
	old := leaveMessage(t, st, bob.ID, 440, t0)
	newer := leaveMessage(t, st, bob.ID, 880, t0.Add(time.Minute))
	cs, _ := voicemailServer(t, st)
	pb := newCallPhone(t, cs, "10002", answerOK)

	if _, err := pb.dial(t.Context(), "*97"); err != nil {
		t.Fatalf("dial *97: %v", err)
	}
	pb.sendDTMF(t, "2468#")
	tones := heardTones(t, pb)
	// The prompt (440), then each message after a beep (1000), newest first.
	i880, i440 := -1, -1
	for i, f := range tones {
		if f == 880 && i880 < 0 {
			i880 = i
		}
		if f == 440 && i > 0 && i440 < 0 && i880 >= 0 {
			i440 = i
		}
	}
	if i880 < 0 || i440 < i880 {
		t.Fatalf("heard %v: want the 880 Hz message before the 440 Hz one", tones)
	}
	for _, id := range []int64{old.ID, newer.ID} {
		if v, err := st.Voicemail(t.Context(), id); err != nil || !v.Heard {
			t.Errorf("message %d not marked heard: %+v %v", id, v, err)
		}
	}
	cs.noCallLeft(t)
}

func TestVoicemailRetrieveWrongPINByINFO(t *testing.T) {
	st, _ := openSQLite(t)
	bob := addUser(t, st, "10002")
	enableVoicemail(t, st, bob.ID, "2468")
	v := leaveMessage(t, st, bob.ID, 880, time.Now())
	cs, _ := voicemailServer(t, st)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pb.dial(t.Context(), "*97")
	if err != nil {
		t.Fatalf("dial *97: %v", err)
	}
	info := func(sig string) {
		req := sip.NewRequest(sip.INFO, sess.InviteRequest.Recipient)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
		req.SetBody([]byte("Signal=" + sig + "\r\nDuration=160\r\n"))
		res, err := sess.Do(t.Context(), req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("INFO %s: %v %v", sig, res, err)
		}
	}
	for range 3 {
		for _, d := range []string{"1", "3", "5", "7", "#"} {
			info(d)
		}
	}
	wait(t, pb.ended, "the PBX's BYE after three wrong PINs")
	if got, _ := st.Voicemail(t.Context(), v.ID); got.Heard {
		t.Fatal("a wrong PIN marked the message heard")
	}
	// Someone else's phone without a PIN of its own gets no mailbox.
	addUser(t, st, "10003")
	pc := newCallPhone(t, cs, "10003", answerOK)
	if _, err := pc.dial(t.Context(), "*97"); status(err) != 403 {
		t.Fatalf("*97 without a mailbox: %v", err)
	}
	cs.noCallLeft(t)
}
