package sip

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

func TestParseCrypto(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, media.SRTPKeyLen)
	b64 := base64.StdEncoding.EncodeToString(key)
	for _, tc := range []struct {
		name, v string
		tag     int
		err     string
	}{
		{"rfc 4568 §9.1 form", "1 AES_CM_128_HMAC_SHA1_80 inline:" + b64, 1, ""},
		{"lifetime ignored", "2 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|2^20", 2, ""},
		{"session params ignored", "3 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + " UNENCRYPTED_SRTCP", 3, ""},
		{"no padding", "4 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(b64, "="), 4, ""},
		{"other suite", "1 AES_CM_128_HMAC_SHA1_32 inline:" + b64, 0, "no supported srtp crypto suite"},
		{"mki", "1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|2^20|1:4", 0, "MKI"},
		{"two keys", "1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + ";inline:" + b64, 0, "more than one key"},
		{"short key", "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD", 0, "30 bytes"},
		{"not base64", "1 AES_CM_128_HMAC_SHA1_80 inline:!!!", 0, "30 bytes"},
		{"not inline", "1 AES_CM_128_HMAC_SHA1_80 uri:x", 0, "inline"},
		{"bad tag", "x AES_CM_128_HMAC_SHA1_80 inline:" + b64, 0, "bad tag"},
		{"too short", "1 AES_CM_128_HMAC_SHA1_80", 0, "want tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sdpneg.ParseCrypto(tc.v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || c.Tag != tc.tag || !bytes.Equal(c.Key, key) {
				t.Fatalf("%+v, %v", c, err)
			}
		})
	}
}

func FuzzParseCrypto(f *testing.F) {
	b64 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, media.SRTPKeyLen))
	for _, s := range []string{"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64, "1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|2^20|1:4",
		"", "1", "99999999999 x y", "1 AES_CM_128_HMAC_SHA1_80 inline:|||", "1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + ";x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := sdpneg.ParseCrypto(v)
		if err == nil && (len(c.Key) != media.SRTPKeyLen || c.Suite != sdpneg.SRTPSuite || c.Tag < 0) {
			t.Fatalf("accepted %q as %+v", v, c)
		}
	})
}

// sealer is an SRTP phone's crypto: seals with its own key, opens with the
// PBX's.
type sealer struct{ enc, dec *srtp.Context }

func newSealer(t testing.TB, own, pbx []byte) *sealer {
	t.Helper()
	mk := func(k []byte) *srtp.Context {
		c, err := srtp.CreateContext(k[:16], k[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return &sealer{enc: mk(own), dec: mk(pbx)}
}

// exchange sends n packets from one phone to the other through the relay,
// sealing them when from is an SRTP phone and opening them when to is,
// and checks each arrives with its payload. It retries a packet lost on
// loopback.
func srtpExchange(t *testing.T, from, to *callPhone, seal, open *sealer, n int, seq *uint16) {
	t.Helper()
	from.mu.Lock()
	dst := from.remote
	from.mu.Unlock()
	buf := make([]byte, 1500)
	for i, sent := 0, 0; i < n; sent++ {
		if sent > 20*n {
			t.Fatalf("%s: %d of %d packets reached %s", from.ext, i, n, to.ext)
		}
		*seq++
		payload := []byte("from " + from.ext + " #" + strconv.Itoa(int(*seq)))
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: *seq, Timestamp: uint32(*seq) * 160,
			SSRC: 0x5000 + uint32(len(from.ext))}, Payload: payload}).Marshal()
		if seal != nil {
			raw, _ = seal.enc.EncryptRTP(nil, raw, nil)
		}
		from.rtp.WriteToUDPAddrPort(raw, dst)
		to.rtp.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		k, _, err := to.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue // lost on loopback: the next packet tries again
		}
		got := buf[:k]
		if open != nil {
			if got, err = open.dec.DecryptRTP(nil, got, nil); err != nil {
				t.Fatalf("%s cannot decrypt what the PBX sent: %v", to.ext, err)
			}
		}
		var p rtp.Packet
		if err := p.Unmarshal(got); err != nil || !bytes.Equal(p.Payload, payload) {
			t.Fatalf("%s got %q, want %q (plain RTP)", to.ext, p.Payload, payload)
		}
		i++
	}
}

// A phone offering SRTP (RTP/SAVP, SDES) calls a plain phone: the plain
// phone is offered RTP/AVP without crypto, the SRTP phone's answer carries
// the PBX's own key under the phone's tag, and audio flows both ways,
// decrypted and encrypted by the relay; packets with a forged tag are not
// heard. An offer of SRTP the relay cannot speak gets 488.
func TestSRTPCallToPlainPhone(t *testing.T) {
	_, cs, a, b := twoPhones(t, CallConfig{})
	a.srtpKey = media.NewSRTPKey()
	sess, err := a.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	inv := wait(t, b.invites, "the INVITE at the plain phone")
	if body := string(inv.Body()); !strings.Contains(body, "RTP/AVP") || strings.Contains(body, "crypto") {
		t.Errorf("offer to the plain phone is not plain RTP/AVP:\n%s", body)
	}
	wait(t, b.incoming, "the call at 10002")
	a.mu.Lock()
	pc, secure := a.pbxCrypto, a.pbxSecure
	a.mu.Unlock()
	if pc == nil || pc.Tag != 7 || !secure || bytes.Equal(pc.Key, a.srtpKey) {
		t.Fatalf("answer to the SRTP phone: crypto %+v, RTP/SAVP %v; want the PBX's own key under tag 7", pc, secure)
	}
	sa := newSealer(t, a.srtpKey, pc.Key)

	// A forged packet first: it must not be what the plain phone hears.
	a.mu.Lock()
	dst := a.remote
	a.mu.Unlock()
	forged, _ := sa.enc.EncryptRTP(nil, mustMarshal(t, 1, []byte("forged")), nil)
	forged[len(forged)-1] ^= 0xFF
	a.rtp.WriteToUDPAddrPort(forged, dst)
	var seqA, seqB uint16 = 1, 500
	srtpExchange(t, a, b, sa, nil, 10, &seqA)
	srtpExchange(t, b, a, nil, sa, 10, &seqB)

	var st media.LegStats
	cs.b.Mu.Lock()
	for _, c := range cs.b.Calls {
		if c.Relay != nil {
			st = c.Relay.Stats(media.LegA)
		}
	}
	cs.b.Mu.Unlock()
	if st.AuthFailed != 1 {
		t.Errorf("leg a: %d packets failed authentication, want the 1 forged (%+v)", st.AuthFailed, st)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, b.ended, "bye at 10002")
	cs.nextCDR(t)

	// An SRTP suite the relay does not speak: 488, nothing rings.
	a.srtpKey = nil
	b64 := base64.StdEncoding.EncodeToString(media.NewSRTPKey())
	_, err = a.dialBody(t.Context(), "10002", []byte(strings.ReplaceAll(string(a.offer("sendrecv")), "RTP/AVP", "RTP/SAVP")+
		"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:"+b64+"\r\n"))
	if status(err) != 488 {
		t.Errorf("unsupported suite: %v, want 488", err)
	}
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

func mustMarshal(t testing.TB, seq uint16, payload []byte) []byte {
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, SSRC: 0x5005}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A recorded call from an SRTP phone: the recording holds the plain
// audio of both sides (the caller's tone decrypted by the relay on the
// left, the plain callee's on the right).
func TestSRTPCallIsRecorded(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	setSetting(t, st, directory.SettingRecording, "all")
	cs, _ := startRecordingServer(t, st, t.TempDir())
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pa.srtpKey = media.NewSRTPKey()
	sa := newSealer(t, pa.srtpKey, pa.srtpKey) // only its sending side is used
	var h rtp.Header
	pa.seal = func(raw []byte) []byte {
		out, err := sa.enc.EncryptRTP(nil, raw, &h)
		if err != nil {
			t.Error(err)
		}
		return out
	}

	row, _, heard := conversation(t, cs, pa, pb, 75, 0, 0)
	if row.Disposition != directory.Answered || heard[1] == 0 {
		t.Fatalf("cdr %+v, callee heard %d packets", row, heard[1])
	}
	recs := recordingsOf(t, st, row.ID)
	if len(recs) != 1 || recs[0].State != directory.RecordingDone {
		t.Fatalf("recordings: %+v", recs)
	}
	left, right := wavChannels(t, recs[0].Path)
	mid := func(x []int16) []int16 { return x[len(x)/10 : len(x)*9/10] }
	checkTone(t, "left (SRTP caller)", mid(left), 440, 1000)
	checkTone(t, "right (plain callee)", mid(right), 1000, 440)
	cs.noCallLeft(t)
}

// Transfers move legs between SRTP and plain phones: when the plain
// callee sends the SRTP caller on to another plain phone, the caller's
// leg stays encrypted and the new pair talks both ways; when the SRTP
// caller itself transfers the plain callee, its leg now leads to a plain
// phone and turns plain.
func TestSRTPTransfer(t *testing.T) {
	t.Run("plain callee transfers the SRTP caller", func(t *testing.T) {
		st, _ := openSQLite(t)
		for _, e := range []string{"10001", "10002", "10003"} {
			addUser(t, st, e)
		}
		cs := startCallServer(t, st, CallConfig{})
		pa := newCallPhone(t, cs, "10001", answerOK)
		pb := newCallPhone(t, cs, "10002", answerOK)
		pc := newCallPhone(t, cs, "10003", answerOK)
		pa.srtpKey = media.NewSRTPKey()
		sess, err := pa.dial(t.Context(), "10002")
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		dlgB := wait(t, pb.incoming, "answered call")
		pa.mu.Lock()
		sa := newSealer(t, pa.srtpKey, pa.pbxCrypto.Key)
		pa.mu.Unlock()
		var seqA, seqC uint16 = 10, 900
		srtpExchange(t, pa, pb, sa, nil, 5, &seqA)

		if got := calleeSide(pb, dlgB).refer(t, "<sip:10003@"+cs.realm()+">"); got != 202 {
			t.Fatalf("REFER: %d, want 202", got)
		}
		inv := wait(t, pc.invites, "INVITE at the target")
		if strings.Contains(string(inv.Body()), "crypto") {
			t.Errorf("the plain target was offered SRTP:\n%s", inv.Body())
		}
		wait(t, pc.incoming, "answer by the target")
		wait(t, pb.ended, "BYE at the transferor")
		srtpExchange(t, pa, pc, sa, nil, 10, &seqA)
		srtpExchange(t, pc, pa, nil, sa, 10, &seqC)
		if err := sess.Bye(t.Context()); err != nil {
			t.Fatal(err)
		}
		wait(t, pc.ended, "BYE at the target")
		cs.nextCDR(t)
		cs.nextCDR(t)
		cs.noCallLeft(t)
	})
	t.Run("SRTP caller transfers the plain callee", func(t *testing.T) {
		st, _ := openSQLite(t)
		for _, e := range []string{"10001", "10002", "10003"} {
			addUser(t, st, e)
		}
		cs := startCallServer(t, st, CallConfig{})
		pa := newCallPhone(t, cs, "10001", answerOK)
		pb := newCallPhone(t, cs, "10002", answerOK)
		pc := newCallPhone(t, cs, "10003", answerOK)
		pa.srtpKey = media.NewSRTPKey()
		sess, err := pa.dial(t.Context(), "10002")
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		wait(t, pb.incoming, "answered call")
		if got := callerSide(pa, sess).refer(t, "sip:10003@"+cs.realm()); got != 202 {
			t.Fatalf("REFER: %d, want 202", got)
		}
		dlgC := wait(t, pc.incoming, "answer by the target")
		wait(t, pa.ended, "BYE at the transferor")
		var seqB, seqC uint16 = 10, 900
		srtpExchange(t, pb, pc, nil, nil, 10, &seqB)
		srtpExchange(t, pc, pb, nil, nil, 10, &seqC)
		if err := dlgC.Bye(t.Context()); err != nil {
			t.Fatal(err)
		}
		wait(t, pb.ended, "BYE at the transferee")
		cs.nextCDR(t)
		cs.nextCDR(t)
		cs.noCallLeft(t)
	})
}

// A supervisor listening (*31) to a call whose caller speaks SRTP hears
// the caller's audio decrypted: the monitor mixes the plain RTP inside
// the relay.
func TestSRTPCallIsMonitored(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	sup := addUser(t, st, "10003")
	makeAdmin(t, st, sup)
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	ps := newCallPhone(t, cs, "10003", answerOK)
	pa.srtpKey = media.NewSRTPKey()
	call, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatal(err)
	}
	wait(t, pb.incoming, "answered call")
	mon, err := ps.dial(t.Context(), "*3110002")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	pa.mu.Lock()
	dst, sa := pa.remote, newSealer(t, pa.srtpKey, pa.pbxCrypto.Key)
	pa.mu.Unlock()

	voice := bytes.Repeat([]byte{0xA0}, 160) // a loud μ-law value; the callee says nothing
	heard := false
	for i := uint16(1); i <= 50 && !heard; i++ {
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: i, Timestamp: uint32(i) * 160,
			SSRC: 0xA}, Payload: voice}).Marshal()
		sealed, _ := sa.enc.EncryptRTP(nil, raw, nil)
		pa.rtp.WriteToUDPAddrPort(sealed, dst)
		pb.recvFrom(t, 0xA) // the callee got it: the relay has passed it on
		in := ps.recvFrom(t, 0)
		heard = bytes.Equal(in.Payload, voice)
	}
	if !heard {
		t.Fatal("the supervisor never heard the SRTP caller's audio")
	}
	mon.Bye(t.Context())
	call.Bye(t.Context())
	wait(t, pb.ended, "bye at callee")
	cs.nextCDR(t)
	cs.noCallLeft(t)
	waitNoMonitors(t, cs)
}

// The SRTP phone holds and resumes with re-INVITEs carrying its same key:
// the PBX's answers keep our key for its leg under its tag, the plain
// phone's re-INVITEs stay plain, and audio still flows both ways after.
func TestSRTPHoldAndResume(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	pa.srtpKey = media.NewSRTPKey()
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	pa.mu.Lock()
	first := pa.pbxCrypto
	pa.mu.Unlock()
	for _, dir := range []string{"sendonly", "sendrecv"} {
		req := sip.NewRequest(sip.INVITE, sess.InviteResponse.Contact().Address)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(pa.offer(dir))
		res, err := sess.Do(t.Context(), req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s: %v %v", dir, res, err)
		}
		got := wait(t, pb.reinvite, "re-INVITE at callee")
		if body := string(got.Body()); strings.Contains(body, "crypto") || strings.Contains(body, "SAVP") {
			t.Errorf("re-INVITE %s reached the plain phone with SRTP:\n%s", dir, body)
		}
		sess.WriteRequest(sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address))
		pa.setRemote(res.Body())
		pa.mu.Lock()
		pc := pa.pbxCrypto
		pa.mu.Unlock()
		if pc == nil || pc.Tag != 7 || !bytes.Equal(pc.Key, first.Key) {
			t.Fatalf("answer to the %s re-INVITE: crypto %+v, want our key for the leg again", dir, pc)
		}
	}
	sa := newSealer(t, pa.srtpKey, first.Key)
	var seqA, seqB uint16 = 10, 900
	srtpExchange(t, pa, pb, sa, nil, 5, &seqA)
	srtpExchange(t, pb, pa, nil, sa, 5, &seqB)
	sess.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
