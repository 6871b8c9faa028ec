package sip

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestCallInboundOfficeHours: a carrier calls a DID that follows office
// hours; inside them the DID's extension rings, outside them (the server's
// clock moved on) the outside-hours target does.
func TestCallInboundOfficeHours(t *testing.T) {
	st, _ := openSQLite(t)
	a := addUser(t, st, "10002")
	b := addUser(t, st, "10003")
	car := startCarrier(t, false)
	// The test clock starts on Thursday 2025-01-02 03:04:05 UTC, 04:04 in
	// Warsaw: inside thu 04:00-04:05, and outside it three minutes on
	// (phones register for five).
	sch := &directory.Schedule{Name: "Reception", TimeZone: "Europe/Warsaw", Hours: "thu 04:00-04:05"}
	if err := st.CreateSchedule(t.Context(), sch); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDIDHours(t.Context(), &directory.DIDHours{Number: "+48221000100", ScheduleID: sch.ID,
		Outside: "10003"}); err != nil {
		t.Fatal(err)
	}
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()},
		DIDs: map[string]string{"+48221000100": "10002"}})
	pa := newCallPhone(t, cs, "10002", answerOK)
	pb := newCallPhone(t, cs, "10003", answerOK)

	call := func(want *callPhone, wantID int64, what string) {
		t.Helper()
		host, port, _ := net.SplitHostPort(cs.udp)
		dua := sipgoDialogUA(car)
		rtpAddr := car.rtp.LocalAddr().(*net.UDPAddr)
		body := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio " +
			strconv.Itoa(rtpAddr.Port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+48601999888", Host: "127.0.0.2"},
			Params: sip.HeaderParams{{K: "tag", V: "c" + what[:3]}}}
		sess, err := dua.Invite(t.Context(), sip.Uri{Scheme: "sip", User: "+48221000100", Host: host, Port: atoiPort(port)},
			[]byte(body), from, sip.NewHeader("Content-Type", "application/sdp"))
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.WaitAnswer(t.Context(), sipgoAnswer(nil)); err != nil {
			t.Fatalf("%s: inbound call: %v", what, err)
		}
		sess.Ack(t.Context())
		wait(t, want.incoming, what)
		sess.Bye(t.Context())
		if row := cs.nextCDR(t); row.CalleeID != wantID || row.Dialed != "+48221000100" || row.Disposition != directory.Answered {
			t.Errorf("%s: cdr %+v, want callee %d", what, row, wantID)
		}
	}
	call(pa, a.ID, "in hours: the DID's extension rings")
	cs.clock.Advance(3 * time.Minute)
	call(pb, b.ID, "out of hours: the outside-hours target rings")

	// A holiday closes the whole day, back within the hours.
	cs.clock.Advance(-3 * time.Minute)
	sch.Holidays = "01-02"
	if err := st.UpdateSchedule(t.Context(), sch); err != nil {
		t.Fatal(err)
	}
	call(pb, b.ID, "holiday: the outside-hours target rings")
	cs.noCallLeft(t)
}
