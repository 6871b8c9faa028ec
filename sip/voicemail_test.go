package sip

import (
	"bytes"
	"encoding/base64"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/smtptest"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/record"
)

// voicemailServer is a call server with recordings (and so voicemail) in
// a temp dir, a short ring time, and the voicemail rows stored on the
// returned channel.
func voicemailServer(t *testing.T, st directory.Store) (*callServer, <-chan directory.Voicemail) {
	t.Helper()
	cs := &callServer{cdr: make(chan directory.Call, 100), st: st}
	vms := make(chan directory.Voicemail, 10)
	cs.testServer = startServerHooked(t, st, nil, func(s *Server) {
		cs.b = s.calls
		cs.b.Hooks.Ended = func(c directory.Call) { cs.cdr <- c }
		s.hooks.voicemail = func(v directory.Voicemail) { vms <- v }
	}, func(c *Config) {
		c.Calls = CallConfig{RTPLow: 46000, RTPHigh: 46999, MediaIP: netip.MustParseAddr("127.0.0.1"),
			MediaTimeout: time.Minute, RingTime: 300 * time.Millisecond}
		c.RecordingsDir = t.TempDir()
	})
	return cs, vms
}

func enableVoicemail(t *testing.T, st directory.Store, userID int64, pin string) {
	t.Helper()
	m := &directory.Mailbox{UserID: userID, Enabled: true}
	if pin != "" {
		h, err := directory.HashPIN(pin)
		if err != nil {
			t.Fatal(err)
		}
		m.PINHash = h
	}
	if err := st.SetMailbox(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

// zeroCrossFreq estimates the frequency of a tone from its zero crossings.
func zeroCrossFreq(s []int16) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(s)) / 8000)
}

// awaitBeep reads what p hears until the voicemail beep (a 1 kHz tone)
// and then silence again: the recording has started. It returns the
// other tones heard before the beep (the greeting), rounded to 50 Hz.
func awaitBeep(t *testing.T, p *callPhone) (before []int) {
	t.Helper()
	buf := make([]byte, 1500)
	pcm := make([]int16, 160)
	silence := bytes.Repeat([]byte{0xFF}, 160)
	beeped := false
	for {
		n, _, err := p.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		var pk rtp.Packet
		if pk.Unmarshal(buf[:n]) != nil || pk.PayloadType != 0 {
			continue
		}
		switch {
		case bytes.Equal(pk.Payload, silence):
			if beeped {
				return before
			}
		default:
			media.PCMU.Decode(pcm, pk.Payload)
			f := zeroCrossFreq(pcm)
			switch {
			case math.Abs(f-1000) < 100:
				beeped = true
			case beeped:
				t.Fatalf("heard %.0f Hz after the beep", f)
			default:
				if r := int(math.Round(f/50) * 50); len(before) == 0 || before[len(before)-1] != r {
					before = append(before, r)
				}
			}
		}
	}
}

func TestVoicemailDepositOnNoAnswer(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	enableVoicemail(t, st, bob.ID, "")
	cs, vms := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)

	// Bob's phone watches his mailbox; Alice may not.
	_, res := subscribeTo(t, pa, "10002", "message-summary", 600)
	wantStatus(t, res, 403)
	mwi, res := subscribeTo(t, pb, "10002", "message-summary", 600)
	wantStatus(t, res, 200)
	n := nextNotify(t, pb)
	if body := string(n.Body()); !strings.Contains(body, "Messages-Waiting: no") || !strings.Contains(body, "Voice-Message: 0/0") {
		t.Fatalf("first NOTIFY:\n%s", body)
	}

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.cancels, "cancel at the phone not answering")
	if g := awaitBeep(t, pa); len(g) != 0 {
		t.Fatalf("heard %v before the beep, want the built-in greeting's silence", g)
	}
	pa.talk(t, tone{freq: 440, ssrc: 0x4242, n: 50})
	// The message ends with the caller's hangup.
	time.Sleep(100 * time.Millisecond) // the last packets through the relay before the BYE
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := wait(t, vms, "the voicemail row")
	if v.UserID != bob.ID || v.Caller != "10001" || v.Heard || v.SHA256 == "" {
		t.Fatalf("voicemail row %+v", v)
	}
	if v.Duration < 900*time.Millisecond || v.Duration > 1100*time.Millisecond {
		t.Fatalf("message of %v, want the 1 s the caller said", v.Duration)
	}
	stored, err := st.Voicemails(t.Context(), directory.VoicemailFilter{UserID: bob.ID, Vis: directory.Visibility{All: true}})
	if err != nil || len(stored) != 1 || stored[0].ID != v.ID {
		t.Fatalf("stored voicemails %+v, %v", stored, err)
	}
	if _, sum, err := record.HashFile(v.Path); err != nil || sum != v.SHA256 {
		t.Fatalf("file %s: sha256 %s, row says %s (%v)", v.Path, sum, v.SHA256, err)
	}
	clip, err := media.LoadWAV(v.Path)
	if err != nil {
		t.Fatal(err)
	}
	s := clip.Samples()
	if f := zeroCrossFreq(s[800 : len(s)-800]); math.Abs(f-440) > 15 {
		t.Fatalf("the message holds %.0f Hz, want the caller's 440", f)
	}
	cdr := cs.nextCDR(t)
	if cdr.Disposition != directory.Answered || cdr.CalleeID != bob.ID {
		t.Errorf("cdr %+v", cdr)
	}
	n = notifyUntil(t, pb, "Voice-Message: 1/0")
	if !strings.Contains(string(n.Body()), "Messages-Waiting: yes") {
		t.Fatalf("NOTIFY after the message:\n%s", n.Body())
	}
	// Heard on the web: the lamp goes off when the web tells sip.
	if err := st.SetVoicemailHeard(t.Context(), v.ID, true); err != nil {
		t.Fatal(err)
	}
	cs.b.s.MailboxChanged(bob.ID)
	if n := notifyUntil(t, pb, "Voice-Message: 0/1"); !strings.Contains(string(n.Body()), "Messages-Waiting: no") {
		t.Fatalf("NOTIFY after the message was heard:\n%s", n.Body())
	}
	// Unsubscribing: 200, then a last NOTIFY that ends the subscription.
	res, err = pb.do(t.Context(), mwi.request(0))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	if n := nextNotify(t, pb); !strings.HasPrefix(subState(n), "terminated") {
		t.Fatalf("last NOTIFY: Subscription-State %q", subState(n))
	}
	cs.noCallLeft(t)
}

func TestVoicemailPlaysTheUsersGreeting(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	greeting := leaveMessage(t, st, bob.ID, 600, time.Now()).Path // a WAV of a 600 Hz tone
	if err := st.SetMailbox(t.Context(), &directory.Mailbox{UserID: bob.ID, Enabled: true, Greeting: greeting}); err != nil {
		t.Fatal(err)
	}
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerRing)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if g := awaitBeep(t, pa); len(g) != 1 || g[0] != 600 {
		t.Fatalf("heard %v before the beep, want the user's 600 Hz greeting", g)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

func TestVoicemailNotOfferedWhenDisabled(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	if err := st.SetMailbox(t.Context(), &directory.Mailbox{UserID: bob.ID}); err != nil {
		t.Fatal(err)
	}
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerRing)
	_, err := pa.dial(t.Context(), "10002")
	if code := status(err); code != 480 {
		t.Fatalf("dial: %v (status %d), want 480", err, code)
	}
	entries, _ := os.ReadDir(cs.b.RecordingsDir)
	if len(entries) != 0 {
		t.Fatalf("files in the recordings dir: %v", entries)
	}
	cs.noCallLeft(t)
}

func TestVoicemailCopyByEmail(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	if err := st.SetMailbox(t.Context(), &directory.Mailbox{UserID: bob.ID, Enabled: true, ToEmail: true}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{directory.SettingSMTPHost: srv.Host, directory.SettingSMTPPort: strconv.Itoa(srv.Port),
		directory.SettingSMTPSecurity: "none", directory.SettingMailFrom: "PBX <pbx@example.com>"} {
		setSetting(t, st, k, v)
	}
	cs, vms := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerRing)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	awaitBeep(t, pa)
	pa.talk(t, tone{freq: 440, ssrc: 0x4343, n: 25})
	time.Sleep(100 * time.Millisecond)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := wait(t, vms, "the voicemail row")
	m := srv.Wait(t, 1)[0]
	if m.To != bob.Email {
		t.Fatalf("mail to %s, want %s", m.To, bob.Email)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(strings.NewReader(m.Body), params["boundary"])
	want, err := os.ReadFile(v.Path)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if p.FileName() == "" {
			continue
		}
		got, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil || !bytes.Equal(got, want) || p.Header.Get("Content-Type") != "audio/wav" {
			t.Fatalf("attachment %s: %d bytes (%v), want the %d of the message", p.FileName(), len(got), err, len(want))
		}
		found = true
	}
	if !found {
		t.Fatalf("no attachment in:\n%.500s", m.Body)
	}
	cs.noCallLeft(t)
}

// TestVoicemailDepositWhenDNDOrOffline: a callee in do not disturb, or
// with no phone registered, goes straight to their mailbox: no phone rings.
func TestVoicemailDepositWhenDNDOrOffline(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob, carol := addUser(t, st, "10002"), addUser(t, st, "10003")
	enableVoicemail(t, st, bob.ID, "")
	enableVoicemail(t, st, carol.ID, "")
	cs, vms := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	dnd := true
	setForward(t, cs, bob.ID, directory.UserPatch{DND: &dnd})
	for _, tc := range []struct {
		ext string
		id  int64
	}{{"10002", bob.ID}, {"10003", carol.ID}} {
		sess, err := pa.dial(t.Context(), tc.ext)
		if err != nil {
			t.Fatalf("dial %s: %v", tc.ext, err)
		}
		awaitBeep(t, pa)
		// A message is not transferred: leg B has no dialog.
		refer := sip.NewRequest(sip.REFER, sess.InviteRequest.Recipient)
		refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:10001@"+cs.realm()+">"))
		if res, err := sess.Do(t.Context(), refer); err != nil || res.StatusCode != 403 {
			t.Fatalf("REFER during a message: %v %v", res, err)
		}
		pa.talk(t, tone{freq: 440, ssrc: 0x4444, n: 15})
		time.Sleep(100 * time.Millisecond)
		if err := sess.Bye(t.Context()); err != nil {
			t.Fatal(err)
		}
		if v := wait(t, vms, "the voicemail row of "+tc.ext); v.UserID != tc.id || v.Duration <= 0 {
			t.Fatalf("%s: voicemail row %+v", tc.ext, v)
		}
		cs.nextCDR(t)
	}
	select {
	case req := <-pb.invites:
		t.Fatalf("the phone in do not disturb rang: %v", req.StartLine())
	default:
	}
	cs.noCallLeft(t)
}

// TestVoicemailGroupMailbox: a call to a group nobody answers goes to the
// group's mailbox, the row owned by the group.
func TestVoicemailGroupMailbox(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	g := addGroup(t, st, "Sales", "16000", bob.ID)
	if err := st.SetMailbox(t.Context(), &directory.Mailbox{GroupID: g.ID, Enabled: true, ToEmail: true}); err != nil {
		t.Fatal(err)
	}
	cs, vms := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	sess, err := pa.dial(t.Context(), "16000")
	if err != nil {
		t.Fatalf("dial the group: %v", err)
	}
	wait(t, pb.cancels, "cancel at the member not answering")
	awaitBeep(t, pa)
	pa.talk(t, tone{freq: 440, ssrc: 0x4545, n: 15})
	time.Sleep(100 * time.Millisecond)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := wait(t, vms, "the group's voicemail row"); v.GroupID != g.ID || v.UserID != 0 || v.Duration <= 0 {
		t.Fatalf("voicemail row %+v", v)
	}
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
