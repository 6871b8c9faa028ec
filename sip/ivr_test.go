package sip

import (
	"math"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// dtmfClock numbers the telephone events of ivrDigits: each key press
// has a timestamp and sequence numbers of its own, across calls of it.
var dtmfClock atomic.Uint32

// ivrDigits sends digits from p as RFC 4733 telephone events (type 101),
// each a new event.
func (p *callPhone) ivrDigits(t *testing.T, digits string) {
	t.Helper()
	p.mu.Lock()
	dst := p.remote
	p.mu.Unlock()
	for _, d := range digits {
		ev := map[rune]byte{'*': 10, '#': 11}[d]
		if d >= '0' && d <= '9' {
			ev = byte(d - '0')
		}
		n := dtmfClock.Add(1)
		for j := range 4 {
			pl := []byte{ev, 10, 0, byte(160 * (j + 1))}
			if j == 3 {
				pl[1] |= 0x80
			}
			raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: uint16(20000 + 4*n + uint32(j)),
				Timestamp: 100000 + 8000*n, SSRC: 0x5151, Marker: j == 0}, Payload: pl}).Marshal()
			if _, err := p.rtp.WriteToUDPAddrPort(raw, dst); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(60 * time.Millisecond) // a key press, then the next
	}
}

// infoDigit sends a digit as SIP INFO (application/dtmf-relay) in sess.
func infoDigit(t *testing.T, sess *sipgo.DialogClientSession, d string) {
	t.Helper()
	req := sip.NewRequest(sip.INFO, sess.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	req.SetBody([]byte("Signal=" + d + "\r\nDuration=160\r\n"))
	res, err := sess.Do(t.Context(), req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO %s: %v %v", d, res, err)
	}
}

// hear reads what p hears until a packet of a tone at freq (±30 Hz).
func hear(t *testing.T, p *callPhone, freq float64) {
	t.Helper()
	buf := make([]byte, 1500)
	pcm := make([]int16, 160)
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		p.rtp.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := p.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		var pk rtp.Packet
		if pk.Unmarshal(buf[:n]) != nil || pk.PayloadType != 0 || len(pk.Payload) != 160 {
			continue
		}
		media.PCMU.Decode(pcm, pk.Payload)
		if math.Abs(zeroCrossFreq(pcm)-freq) < 30 {
			return
		}
	}
	t.Fatalf("phone %s never heard %.0f Hz", p.ext, freq)
}

// addMenu stores a menu whose greeting is a tone at freq.
func addMenu(t *testing.T, st directory.Store, number string, freq float64, m directory.IVRMenu) *directory.IVRMenu {
	t.Helper()
	m.Number, m.Name = number, "Menu "+number
	if freq > 0 {
		m.Greeting = toneWAV(t, freq, 400)
	}
	if err := st.CreateIVRMenu(t.Context(), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func opt(d string, a directory.IVRAction, target string) directory.IVROption {
	return directory.IVROption{Digit: d, Action: a, Target: target}
}

// answeredThrough checks that the caller and the phone reached talk to
// each other and the CDR names the menu walk.
func answeredThrough(t *testing.T, cs *callServer, pa, pb *callPhone, sess *sipgo.DialogClientSession, to string, calleeID int64, reason string) {
	t.Helper()
	wait(t, pb.incoming, "the option's target answered")
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	row := cs.nextCDR(t)
	if row.To != to || row.CalleeID != calleeID || row.Disposition != directory.Answered || row.Reason != reason {
		t.Errorf("cdr %+v, want to %s, callee %d, reason %q", row, to, calleeID, reason)
	}
}

func TestIVRExtensionByRFC4733(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{opt("1", directory.IVRExtension, "10002")}})
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600) // the greeting, from the relay
	pa.ivrDigits(t, "1")
	answeredThrough(t, cs, pa, pb, sess, "10002", bob.ID, "ivr 80000 option 1")
	cs.noCallLeft(t)
}

func TestIVRGroupByINFO(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	carol := addUser(t, st, "10003")
	g := addGroup(t, st, "Sales", "20000", carol.ID)
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{opt("2", directory.IVRGroup, "20000")}})
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)
	sess, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	infoDigit(t, sess, "2")
	wait(t, pc.incoming, "the group's member answered")
	pa.sendRTP(t, pc, 5)
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.To != "10003" || row.GroupID != g.ID || row.CalleeID != carol.ID || row.Reason != "ivr 80000 option 2" {
		t.Errorf("cdr %+v", row)
	}
	cs.noCallLeft(t)
}

func TestIVRTimeoutAction(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	addMenu(t, st, "80000", 600, directory.IVRMenu{DigitTimeout: 1, MaxTries: 2,
		TimeoutAction: directory.IVRExtension, TimeoutTarget: "10002"})
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	answeredThrough(t, cs, pa, pb, sess, "10002", bob.ID, "ivr 80000 timeout")
	cs.noCallLeft(t)
}

// TestIVRInvalidDigits: a digit no option has plays the invalid tone and
// the greeting again; after MaxTries the invalid action (hang up) is taken.
func TestIVRInvalidDigits(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addMenu(t, st, "80000", 600, directory.IVRMenu{MaxTries: 2, DigitTimeout: 5,
		Options: []directory.IVROption{opt("1", directory.IVRHangup, "")}})
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	if _, err := pa.dial(t.Context(), "80000"); err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	pa.ivrDigits(t, "7")
	hear(t, pa, 300) // invalid
	hear(t, pa, 600) // the greeting again
	pa.ivrDigits(t, "8")
	wait(t, pa.ended, "the menu hanging up")
	if row := cs.nextCDR(t); row.Reason != "ivr 80000 invalid" || row.HangupBy != "system" ||
		row.Disposition != directory.Answered || row.To != "80000" {
		t.Errorf("cdr %+v", row)
	}
	cs.noCallLeft(t)
}

func TestIVRNestedMenuAndDialByExtension(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{opt("9", directory.IVRMenuAction, "80001")}})
	addMenu(t, st, "80001", 800, directory.IVRMenu{Options: []directory.IVROption{
		opt("0", directory.IVRDialByExtension, ""), opt("*", directory.IVRMenuAction, "80000")}})
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	pa.ivrDigits(t, "9")
	hear(t, pa, 800) // the second menu
	pa.ivrDigits(t, "*")
	hear(t, pa, 600) // back in the first
	pa.ivrDigits(t, "9")
	hear(t, pa, 800)
	pa.ivrDigits(t, "010002#")
	answeredThrough(t, cs, pa, pb, sess, "10002", bob.ID, "ivr 80000 option 9 80001 option * 80000 option 9 80001 dialed 10002")
	cs.noCallLeft(t)
}

// TestIVRUnansweredTargetBackToMenu: a target nobody answers within the
// ring time brings the caller back to the greeting.
func TestIVRUnansweredTargetBackToMenu(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{
		opt("1", directory.IVRExtension, "10002"), opt("2", directory.IVRHangup, "")}})
	cs, _ := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	if _, err := pa.dial(t.Context(), "80000"); err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	pa.ivrDigits(t, "1")
	hear(t, pa, 425) // ringing
	wait(t, pb.cancels, "the unanswered target cancelled")
	hear(t, pa, 600) // the menu again
	pa.ivrDigits(t, "2")
	wait(t, pa.ended, "hang up option")
	if row := cs.nextCDR(t); row.Reason != "ivr 80000 option 1 no answer 80000 option 2" {
		t.Errorf("cdr %+v", row)
	}
	cs.noCallLeft(t)
}

func TestIVRVoicemailOption(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	enableVoicemail(t, st, bob.ID, "")
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{opt("3", directory.IVRVoicemail, "10002")}})
	cs, vms := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	sess, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	pa.ivrDigits(t, "3")
	pa.rtp.SetReadDeadline(time.Time{})
	awaitBeep(t, pa)
	pa.talk(t, tone{freq: 440, ssrc: 0x4243, n: 50})
	time.Sleep(100 * time.Millisecond) // the last packets through the relay before the BYE
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := wait(t, vms, "the voicemail row")
	if v.UserID != bob.ID || v.Caller != "10001" || v.Duration < 800*time.Millisecond {
		t.Fatalf("voicemail %+v", v)
	}
	if row := cs.nextCDR(t); row.To != "10002" || row.CalleeID != bob.ID || row.Reason != "ivr 80000 option 3 voicemail 10002" {
		t.Errorf("cdr %+v", row)
	}
	cs.noCallLeft(t)
}

// TestIVRThroughDID: a carrier's call to a DID mapped to a menu's number
// is answered by the menu; its option rings an extension.
func TestIVRThroughDID(t *testing.T) {
	ivrThroughDID(t, "80000", nil)
}

// TestIVROutOfHours: a DID that rings an extension in office hours
// reaches the menu, its outside-hours target, while the schedule is
// closed.
func TestIVROutOfHours(t *testing.T) {
	ivrThroughDID(t, "10003", func(st directory.Store) {
		sch := &directory.Schedule{Name: "Shut", Closed: true}
		if err := st.CreateSchedule(t.Context(), sch); err != nil {
			t.Fatal(err)
		}
		if err := st.SetDIDHours(t.Context(), &directory.DIDHours{Number: "+48221000100", ScheduleID: sch.ID,
			Outside: "80000"}); err != nil {
			t.Fatal(err)
		}
	})
}

// ivrThroughDID calls the DID +48221000100, mapped to didTarget, from a
// carrier, and expects menu 80000 to answer and its option 1 (sent as
// INFO) to reach 10002.
func ivrThroughDID(t *testing.T, didTarget string, setup func(directory.Store)) {
	st, _ := openSQLite(t)
	bob := addUser(t, st, "10002")
	addUser(t, st, "10003")
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{opt("1", directory.IVRExtension, "10002")}})
	if setup != nil {
		setup(st)
	}
	car := startCarrier(t, false)
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()}, RingTime: 5 * time.Second,
		DIDs: map[string]string{"+48221000100": didTarget}})
	pb := newCallPhone(t, cs, "10002", answerOK)

	host, port, _ := net.SplitHostPort(cs.udp)
	dua := sipgoDialogUA(car)
	rtpAddr := car.rtp.LocalAddr().(*net.UDPAddr)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio " +
		strconv.Itoa(rtpAddr.Port) + " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+48601999888", Host: "127.0.0.2"},
		Params: sip.HeaderParams{{K: "tag", V: "cdid"}}}
	sess, err := dua.Invite(t.Context(), sip.Uri{Scheme: "sip", User: "+48221000100", Host: host, Port: atoiPort(port)},
		[]byte(body), from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(t.Context(), sipgoAnswer(nil)); err != nil {
		t.Fatalf("inbound call: %v", err)
	}
	sess.Ack(t.Context())
	if !strings.Contains(string(sess.InviteResponse.Body()), "telephone-event") {
		t.Errorf("the menu's answer offers no telephone-event:\n%s", sess.InviteResponse.Body())
	}
	infoDigit(t, sess, "1")
	wait(t, pb.incoming, "the extension answered")
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.CalleeID != bob.ID || row.Dialed != "+48221000100" || row.To != "10002" ||
		row.Direction != directory.Inbound || row.Reason != "ivr 80000 option 1" {
		t.Errorf("cdr %+v", row)
	}
	cs.noCallLeft(t)
}

// TestIVRRecordedByPolicy: the policy records calls of a selected user;
// a call that reaches that user through a menu is recorded from the
// user's answer, the caller on the left channel and the user on the right.
func TestIVRRecordedByPolicy(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob := addUser(t, st, "10002")
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{opt("1", directory.IVRExtension, "10002")}})
	setSetting(t, st, directory.SettingRecording, "selected")
	setSetting(t, st, directory.SettingRecordingUsers, strconv.FormatInt(bob.ID, 10))
	cs, _ := startRecordingServer(t, st, t.TempDir())
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	pa.ivrDigits(t, "1")
	wait(t, pb.incoming, "bob answered")
	bothTalk(t, pa, pb, 0, 50, 0, 0)
	time.Sleep(100 * time.Millisecond) // the last packets through the relay before the BYE
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	row := cs.nextCDR(t)
	recs := recordingsOf(t, st, row.ID)
	if len(recs) != 1 || recs[0].State != directory.RecordingDone {
		t.Fatalf("recordings of the call: %+v", recs)
	}
	left, right := wavChannels(t, recs[0].Path)
	checkTone(t, "caller (left)", left, 440, 1000)
	checkTone(t, "bob (right)", right, 1000, 440)
	cs.noCallLeft(t)
}

// TestIVRCallerHangsUpWhileTargetRings: the target's phone stops ringing
// and nothing of the call is left.
func TestIVRCallerHangsUpWhileTargetRings(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{opt("1", directory.IVRExtension, "10002")}})
	cs := startCallServer(t, st, CallConfig{RingTime: time.Minute})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	sess, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	pa.ivrDigits(t, "1")
	wait(t, pb.invites, "the target rings")
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.cancels, "the target's ringing cancelled")
	if row := cs.nextCDR(t); row.HangupBy != "caller" || row.Reason != "ivr 80000 option 1" {
		t.Errorf("cdr %+v", row)
	}
	cs.noCallLeft(t)
}
