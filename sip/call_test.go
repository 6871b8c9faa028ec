package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

func TestCallInternalAudioBothWays(t *testing.T) {
	st, _ := openSQLite(t)
	a, b := addUser(t, st, "10001"), addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	pa.sendRTP(t, pb, 10)
	pb.sendRTP(t, pa, 10)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "bye at callee")
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.HangupBy != "caller" || row.Direction != directory.Internal ||
		row.CallerID != a.ID || row.CalleeID != b.ID || row.Dialed != "10002" || row.AnsweredAt.IsZero() ||
		row.Node != "node-a" || row.From != "10001" || row.To != "10002" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestCallCalleeHangsUp(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	if _, err := pa.dial(t.Context(), "10002"); err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlg := wait(t, pb.incoming, "answered call")
	pb.sendRTP(t, pa, 5)
	if err := dlg.Bye(t.Context()); err != nil {
		t.Fatalf("callee bye: %v", err)
	}
	wait(t, pa.ended, "bye at caller")
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.HangupBy != "callee" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestCallNotAnswered covers the attempts that never connect.
func TestCallNotAnswered(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002") // busy
	addUser(t, st, "10003") // rings forever
	addUser(t, st, "10004") // never registers
	cs := startCallServer(t, st, CallConfig{RingTime: 300 * time.Millisecond})
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerBusy)
	pc := newCallPhone(t, cs, "10003", answerRing)

	for _, tc := range []struct {
		name   string
		dial   string
		status int
		disp   directory.Disposition
	}{
		{"busy", "10002", 486, directory.Busy},
		{"no answer", "10003", 480, directory.NoAnswer},
		{"not registered", "10004", 480, directory.Unavailable},
		{"unknown extension", "10099", 404, directory.Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pa.dial(t.Context(), tc.dial)
			if got := status(err); got != tc.status {
				t.Fatalf("dial %s: %v, want %d", tc.dial, err, tc.status)
			}
			row := cs.nextCDR(t)
			if row.Disposition != tc.disp || row.Dialed != tc.dial {
				t.Errorf("cdr: %+v", row)
			}
		})
	}
	wait(t, pc.cancels, "cancel at the unanswered phone")
	cs.noCallLeft(t)
}

func TestCallCallerCancels(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-pb.invites
		cancel()
	}()
	_, err := pa.dial(ctx, "10002")
	if err == nil {
		t.Fatal("dial answered, want cancelled")
	}
	wait(t, pb.cancels, "cancel at callee")
	row := cs.nextCDR(t)
	if row.Disposition != directory.Cancelled || row.HangupBy != "caller" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestCallWrongPassword(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerOK)
	pa.pw = "wrong-password"
	_, err := pa.dial(t.Context(), "10002")
	if got := status(err); got != 407 {
		t.Fatalf("dial with a wrong password: %v, want 407", err)
	}
	cs.noCallLeft(t)
}

func TestCallGroupRingsAllMembers(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b, c := addUser(t, st, "10002"), addUser(t, st, "10003")
	g := addGroup(t, st, "Sales", "20000", b.ID, c.ID)
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerRing)
	sess, err := pa.dial(t.Context(), "20000")
	if err != nil {
		t.Fatalf("dial group: %v", err)
	}
	wait(t, pb.incoming, "answer by a member")
	wait(t, pc.cancels, "cancel at the other member")
	pa.sendRTP(t, pb, 5)
	sess.Bye(t.Context())
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.GroupID != g.ID || row.CalleeID != b.ID || row.To != "10002" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestCallHoldAndResume(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
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
		if body := string(got.Body()); !strings.Contains(body, "a="+dir) || !strings.Contains(body, "c=IN IP4 127.0.0.1") {
			t.Errorf("re-INVITE %s reached the callee as:\n%s", dir, body)
		}
		ack := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
		if err := sess.WriteRequest(ack); err != nil {
			t.Fatal(err)
		}
		pa.setRemote(res.Body())
	}
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestCallBadSDP(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerOK)
	host, port, _ := net.SplitHostPort(cs.udp)
	sess, err := pa.dcc.Invite(t.Context(), sip.Uri{Scheme: "sip", User: "10002", Host: host, Port: atoiPort(port)},
		[]byte("v=0\r\nthis is not sdp\r\n"), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	err = sess.WaitAnswer(t.Context(), sipgoAnswer(pa))
	if got := status(err); got != 488 {
		t.Fatalf("bad sdp: %v, want 488", err)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Failed {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestCallOutbound runs the outbound rule through a trunk: each
// calls.outbound scope against a visible contact's number, an invisible
// contact's, an employee's mobile and a random number.
func TestCallOutbound(t *testing.T) {
	st, _ := openSQLite(t)
	caller := addUser(t, st, "10001")
	other := addUser(t, st, "10002")
	if _, err := directory.AddUser(t.Context(), st, directory.NewUser{Name: "Employee", Email: "emp@example.com",
		Extension: "10003", ExtPassword: testPassword, Mobile: "+48601000200"}, directory.DefaultPasswordPolicy); err != nil {
		t.Fatal(err)
	}
	visible := &directory.Contact{Name: "Visible", Phones: []string{"+48221234567"}, AssignedTo: caller.ID}
	hidden := &directory.Contact{Name: "Hidden", Phones: []string{"+48227654321"}, AssignedTo: other.ID}
	for _, c := range []*directory.Contact{visible, hidden} {
		if err := st.CreateContact(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	car := startCarrier(t, true)
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()}})
	pa := newCallPhone(t, cs, "10001", answerOK)

	const (
		visibleNum = "221234567" // national: normalized with the default country PL
		hiddenNum  = "+48227654321"
		employee   = "+48601000200"
		random     = "+48229999999"
	)
	for _, tc := range []struct {
		scope  string
		number string
		reason string // "" when allowed
	}{
		{"any", visibleNum, ""}, {"any", hiddenNum, ""}, {"any", employee, ""}, {"any", random, ""},
		{"crm", visibleNum, ""},
		{"crm", hiddenNum, authz.ReasonOutboundCRM},
		{"crm", employee, authz.ReasonOutboundCRM},
		{"crm", random, authz.ReasonOutboundCRM},
		{"crm_and_employees", visibleNum, ""},
		{"crm_and_employees", hiddenNum, authz.ReasonOutboundCRMStaff},
		{"crm_and_employees", employee, ""},
		{"crm_and_employees", random, authz.ReasonOutboundCRMStaff},
		{"none", visibleNum, authz.ReasonOutboundNone}, {"none", hiddenNum, authz.ReasonOutboundNone},
		{"none", employee, authz.ReasonOutboundNone}, {"none", random, authz.ReasonOutboundNone},
	} {
		t.Run(tc.scope+" "+tc.number, func(t *testing.T) {
			if err := st.SetOverrides(t.Context(), caller.ID, map[string]string{"calls.outbound": tc.scope}); err != nil {
				t.Fatal(err)
			}
			sess, err := pa.dial(t.Context(), tc.number)
			row := func() directory.Call { return cs.nextCDR(t) }
			if tc.reason != "" {
				if status(err) != 403 || !strings.Contains(reasonOf(err), tc.reason) {
					t.Fatalf("dial: %v, want 403 %s", err, tc.reason)
				}
				if r := row(); r.Disposition != directory.Denied || r.Reason != tc.reason || r.Direction != directory.Outbound {
					t.Errorf("cdr: %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			inv := wait(t, car.invites, "INVITE at the carrier")
			want := tc.number
			if want == visibleNum {
				want = "+48221234567"
			}
			if inv.Recipient.User != want || inv.From().Address.User != "+48221000000" {
				t.Errorf("carrier got INVITE %s from %s", inv.Recipient.String(), inv.From().Address.String())
			}
			sess.Bye(t.Context())
			if r := row(); r.Disposition != directory.Answered || r.Direction != directory.Outbound || r.To != want {
				t.Errorf("cdr: %+v", r)
			}
		})
	}
	cs.noCallLeft(t)
}

func TestCallInboundDID(t *testing.T) {
	st, _ := openSQLite(t)
	b := addUser(t, st, "10002")
	car := startCarrier(t, false)
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()},
		DIDs: map[string]string{"+48221000100": "10002"}})
	pb := newCallPhone(t, cs, "10002", answerOK)

	host, port, _ := net.SplitHostPort(cs.udp)
	dua := sipgoDialogUA(car)
	rtpAddr := car.rtp.LocalAddr().(*net.UDPAddr)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio " +
		strconv.Itoa(rtpAddr.Port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+48601999888", Host: "127.0.0.2"},
		Params: sip.HeaderParams{{K: "tag", V: "c1"}}}
	sess, err := dua.Invite(t.Context(), sip.Uri{Scheme: "sip", User: "+48221000100", Host: host, Port: atoiPort(port)},
		[]byte(body), from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(t.Context(), sipgoAnswer(nil)); err != nil {
		t.Fatalf("inbound call: %v", err)
	}
	sess.Ack(t.Context())
	wait(t, pb.incoming, "inbound call at the extension")
	sess.Bye(t.Context())
	row := cs.nextCDR(t)
	if row.Direction != directory.Inbound || row.CalleeID != b.ID || row.From != "+48601999888" ||
		row.Dialed != "+48221000100" || row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestCallMediaTimeout(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{MediaTimeout: time.Second})
	if _, err := pa.dial(t.Context(), "10002"); err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	// Nobody sends RTP: the relay gives up and the PBX hangs up both legs.
	wait(t, pa.ended, "bye at caller")
	wait(t, pb.ended, "bye at callee")
	if row := cs.nextCDR(t); row.HangupBy != "system" || row.Reason != "media timeout" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestCallLimitPerExtension(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{MaxCallsPerExt: 1})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	if _, err := pc.dial(t.Context(), "10002"); status(err) != 486 {
		t.Fatalf("second call to a busy extension: %v, want 486", err)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Busy {
		t.Errorf("cdr: %+v", row)
	}
	sess.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

func TestCallMalformedInvite(t *testing.T) {
	st, _ := openSQLite(t)
	cs := startCallServer(t, st, CallConfig{})
	base := "INVITE sip:10002@" + cs.udp + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK%s;rport\r\n" +
		"From: <sip:10001@x>;tag=1\r\nTo: <sip:10002@x>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n%sContent-Length: 0\r\n\r\n"
	for i, tc := range []struct {
		extra string
		code  int
	}{
		{"Max-Forwards: 0\r\nContact: <sip:10001@127.0.0.1:5999>\r\n", 483},
		// No Contact: challenged first, as RFC 4475 wants for an RFC 2543
		// INVITE (inv2543); the missing Contact is refused once authenticated.
		{"Max-Forwards: 70\r\n", 407},
		{"Max-Forwards: 70\r\nContact: <sip:10001@127.0.0.1:5999>\r\n", 407},
	} {
		raw := fmt.Sprintf(base, strconv.Itoa(i)+"x", "malformed-"+strconv.Itoa(i), tc.extra)
		if res := rawExchange(t, cs.udp, raw); res.StatusCode != tc.code {
			t.Errorf("case %d: %d %s, want %d", i, res.StatusCode, res.Reason, tc.code)
		}
	}
	// A BYE or re-INVITE for no call.
	raw := strings.Replace(fmt.Sprintf(base, "bye", "nocall", "Max-Forwards: 70\r\n"), "INVITE sip", "BYE sip", 1)
	raw = strings.Replace(raw, "CSeq: 1 INVITE", "CSeq: 2 BYE", 1)
	raw = strings.Replace(raw, "To: <sip:10002@x>", "To: <sip:10002@x>;tag=9", 1)
	if res := rawExchange(t, cs.udp, raw); res.StatusCode != 481 {
		t.Errorf("bye for no call: %d", res.StatusCode)
	}
}
