package sip

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestContactCentreJourney walks a contact centre's path in one run. A
// carrier's call to a DID reaches the auto attendant; the caller presses 1 (SIP
// INFO) and waits in the sales queue until its agent, logged in by *60,
// answers. A second caller presses 2 (RFC 4733) in the same menu and
// leaves a message in the agent's mailbox; the lamp of the agent's phone,
// subscribed to its message-summary, lights up. The rows tell the story.
func TestContactCentreJourney(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	agent := addUser(t, st, "10002")
	enableVoicemail(t, st, agent.ID, "")
	if err := st.CreateQueue(t.Context(), &directory.Queue{Number: "18000", Name: "Sales",
		Members: []int64{agent.ID}}); err != nil {
		t.Fatal(err)
	}
	addMenu(t, st, "80000", 600, directory.IVRMenu{Options: []directory.IVROption{
		opt("1", directory.IVRQueue, "18000"), opt("2", directory.IVRVoicemail, "10002")}})

	car := startCarrier(t, false)
	cs := &callServer{cdr: make(chan directory.Call, 100), st: st}
	vms := make(chan directory.Voicemail, 10)
	cs.testServer = startServerHooked(t, st, nil, func(s *Server) {
		cs.b = s.calls
		cs.b.Hooks.Ended = func(c directory.Call) { cs.cdr <- c }
		s.hooks.voicemail = func(v directory.Voicemail) { vms <- v }
	}, func(c *Config) {
		c.Calls = CallConfig{RTPLow: 46000, RTPHigh: 46999, MediaIP: netip.MustParseAddr("127.0.0.1"),
			MediaTimeout: time.Minute, RingTime: 5 * time.Second,
			Trunks: []Trunk{car.trunk()}, DIDs: map[string]string{"+48221000100": "80000"}}
		c.RecordingsDir = t.TempDir()
	})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)

	// The agent logs in and watches their mailbox's lamp.
	agentCode(t, pb, "*60", "Logged In")
	_, res := subscribeTo(t, pb, "10002", "message-summary", 600)
	wantStatus(t, res, 200)
	if body := string(nextNotify(t, pb).Body()); !strings.Contains(body, "Messages-Waiting: no") {
		t.Fatalf("first NOTIFY of the agent's mailbox:\n%s", body)
	}

	// Through the trunk: the menu answers, 1 queues the caller, the agent
	// answers.
	host, port, _ := net.SplitHostPort(cs.udp)
	rtpAddr := car.rtp.LocalAddr().(*net.UDPAddr)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio " +
		strconv.Itoa(rtpAddr.Port) + " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+48601999888", Host: "127.0.0.2"},
		Params: sip.HeaderParams{{K: "tag", V: "journey"}}}
	sess, err := sipgoDialogUA(car).Invite(t.Context(),
		sip.Uri{Scheme: "sip", User: "+48221000100", Host: host, Port: atoiPort(port)},
		[]byte(body), from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(t.Context(), sipgoAnswer(nil)); err != nil {
		t.Fatalf("inbound call: %v", err)
	}
	sess.Ack(t.Context())
	infoDigit(t, sess, "1")
	wait(t, pb.incoming, "the agent answers the queued caller")
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	row := cs.nextCDR(t)
	if row.Direction != directory.Inbound || row.Dialed != "+48221000100" || row.Queue != "18000" ||
		row.CalleeID != agent.ID || !strings.HasPrefix(row.Reason, "ivr 80000 option 1") || !strings.HasSuffix(row.Reason, "queue 18000: answered by 10002") {
		t.Errorf("the carrier's call: %+v", row)
	}

	// Another caller leaves a message from the menu; the lamp lights.
	s2, err := pa.dial(t.Context(), "80000")
	if err != nil {
		t.Fatalf("dial the menu: %v", err)
	}
	hear(t, pa, 600)
	pa.ivrDigits(t, "2")
	pa.rtp.SetReadDeadline(time.Time{})
	awaitBeep(t, pa)
	pa.talk(t, tone{freq: 440, ssrc: 0x4a4a, n: 50})
	time.Sleep(100 * time.Millisecond) // the last packets through the relay before the BYE
	if err := s2.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := wait(t, vms, "the message"); v.UserID != agent.ID || v.Caller != "10001" {
		t.Fatalf("voicemail %+v", v)
	}
	if row := cs.nextCDR(t); row.CalleeID != agent.ID || row.Reason != "ivr 80000 option 2 voicemail 10002" {
		t.Errorf("the message's call: %+v", row)
	}
	notifyUntil(t, pb, "Messages-Waiting: yes")
	cs.noCallLeft(t)
}
