package sip

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// replacesOf is the Replaces value naming a phone's dialog with the PBX.
func replacesOf(callID, toTag, fromTag string) string {
	return callID + ";to-tag=" + toTag + ";from-tag=" + fromTag
}

// clientReplaces names the dialog of a call the phone placed.
func clientReplaces(s *sipgo.DialogClientSession) string {
	return replacesOf(s.InviteRequest.CallID().Value(), wire.Tag(s.InviteResponse.To().Params),
		wire.Tag(s.InviteRequest.From().Params))
}

// serverReplaces names the dialog of a call the phone took.
func serverReplaces(s *sipgo.DialogServerSession) string {
	return replacesOf(s.InviteRequest.CallID().Value(), wire.Tag(s.InviteRequest.From().Params),
		wire.Tag(s.InviteResponse.To().Params))
}

// dialWith is dial with extra headers.
func (p *callPhone) dialWith(ctx context.Context, ext string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	sess, err := p.dialNoAck(ctx, ext, hdrs...)
	if err != nil {
		return nil, err
	}
	if err := sess.Ack(ctx); err != nil {
		return nil, err
	}
	return sess, nil
}

// dialNoAck is dialWith without the ACK of the 200.
func (p *callPhone) dialNoAck(ctx context.Context, ext string, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	host, port, _ := net.SplitHostPort(p.srv.udp)
	uri := sip.Uri{Scheme: "sip", User: ext, Host: host, Port: atoiPort(port)}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.ext, Host: p.srv.realm()},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}}
	hdrs = append([]sip.Header{from, sip.NewHeader("Content-Type", "application/sdp")}, hdrs...)
	sess, err := p.dcc.Invite(ctx, uri, p.offer("sendrecv"), hdrs...)
	if err != nil {
		return nil, err
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{Username: p.ext, Password: p.pw}); err != nil {
		sess.Close()
		return nil, err
	}
	p.setRemote(sess.InviteResponse.Body())
	return sess, nil
}

// rowsByReason takes n CDR rows, in whatever order the calls wrote them.
func rowsByReason(t *testing.T, cs *callServer, n int) map[string]directory.Call {
	t.Helper()
	out := map[string]directory.Call{}
	for range n {
		r := cs.nextCDR(t)
		out[r.Reason] = r
	}
	return out
}

// TestAttendedTransfer: X talks to T; T puts X on hold, calls Y, and
// transfers X to Y with Replaces naming its call with Y. X and Y talk
// through one relay; T gets NOTIFY 200 and a BYE in both calls.
func TestAttendedTransfer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tCallsX  bool // T placed call 1 (T on leg A), else X did
		yCallsT  bool // Y placed call 2, else T did
		early    bool // T sends REFER before the ACK of call 2's 200
		wantLegY media.Leg
	}{
		{"transferor called", false, false, false, media.LegB},
		{"transferor calling", true, false, false, media.LegA},
		{"consulted party calling", false, true, false, media.LegB},
		{"refer before the ack", false, false, true, media.LegB},
		// Call 2 waits for Y's ACK before it gives Y's leg away.
		{"consulted party slow to ack", false, true, true, media.LegB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := openSQLite(t)
			x, tr, y := addUser(t, st, "10001"), addUser(t, st, "10002"), addUser(t, st, "10003")
			cs := startCallServer(t, st, CallConfig{})
			px := newCallPhone(t, cs, "10001", answerOK)
			pt := newCallPhone(t, cs, "10002", answerOK)
			py := newCallPhone(t, cs, "10003", answerOK)

			// Call 1 between X and T, and T's side of it.
			var side1 inDialog
			var bye1 func() error
			if tc.tCallsX {
				s, err := pt.dial(t.Context(), "10001")
				if err != nil {
					t.Fatalf("dial X: %v", err)
				}
				dx := wait(t, px.incoming, "X answers")
				side1 = callerSide(pt, s)
				if got := side1.reinvite(t, pt, "sendonly", func(r *sip.Request) error { return s.WriteRequest(r) }); got != 200 {
					t.Fatalf("hold: %d", got)
				}
				bye1 = func() error { return dx.Bye(t.Context()) }
			} else {
				s, err := px.dial(t.Context(), "10002")
				if err != nil {
					t.Fatalf("dial T: %v", err)
				}
				dt := wait(t, pt.incoming, "T answers")
				side1 = calleeSide(pt, dt)
				if got := side1.reinvite(t, pt, "sendonly", func(r *sip.Request) error { return dt.WriteRequest(r) }); got != 200 {
					t.Fatalf("hold: %d", got)
				}
				bye1 = func() error { return s.Bye(t.Context()) }
			}
			wait(t, px.reinvite, "hold at X")
			pt.sendRTP(t, px, 3) // T still sends on hold: it must not reach Y later

			// Call 2: T consults Y.
			var rep string
			var ack2 func()
			if tc.early && tc.yCallsT {
				s2, err := py.dialNoAck(t.Context(), "10002")
				if err != nil {
					t.Fatalf("Y dials T: %v", err)
				}
				rep = serverReplaces(wait(t, pt.incoming, "T answers Y"))
				ack2 = func() {
					if err := s2.Ack(t.Context()); err != nil {
						t.Errorf("ack: %v", err)
					}
				}
			} else if tc.early {
				s2, err := pt.dialNoAck(t.Context(), "10003")
				if err != nil {
					t.Fatalf("dial Y: %v", err)
				}
				wait(t, py.invites, "INVITE at Y")
				rep = clientReplaces(s2)
				ack2 = func() {
					if err := s2.Ack(t.Context()); err != nil {
						t.Errorf("ack: %v", err)
					}
				}
			} else if tc.yCallsT {
				if _, err := py.dial(t.Context(), "10002"); err != nil {
					t.Fatalf("Y dials T: %v", err)
				}
				rep = serverReplaces(wait(t, pt.incoming, "T answers Y"))
			} else {
				s2, err := pt.dial(t.Context(), "10003")
				if err != nil {
					t.Fatalf("dial Y: %v", err)
				}
				wait(t, py.incoming, "Y answers")
				rep = clientReplaces(s2)
			}
			if !tc.early {
				pt.sendRTP(t, py, 5)
			}
			if n := len(cs.ActiveCalls()); n != 2 {
				t.Fatalf("active calls before the transfer: %d, want 2", n)
			}

			for _, p := range []*callPhone{px, py} { // the calls' own INVITEs
				for len(p.invites) > 0 {
					<-p.invites
				}
			}
			referTo := "<sip:10003@" + cs.realm() + "?Replaces=" + url.QueryEscape(rep) + ">"
			if got := side1.refer(t, referTo); got != 202 {
				t.Fatalf("REFER: %d, want 202", got)
			}
			wantNotify(t, pt, "SIP/2.0 100 Trying", false)
			if ack2 != nil {
				// The PBX waits for the consultation call's ACK; a phone
				// sends it soon, if after the REFER.
				time.Sleep(150 * time.Millisecond)
				ack2()
			}
			wantNotify(t, pt, "SIP/2.0 200 OK", true)
			wait(t, pt.ended, "BYE at the transferor")
			wait(t, pt.ended, "BYE at the transferor")
			join := wait(t, py.reinvite, "re-INVITE at Y")
			if body := string(join.Body()); !strings.Contains(body, "a=sendrecv") {
				t.Errorf("offer to Y not sendrecv:\n%s", body)
			}
			unhold := wait(t, px.reinvite, "X taken off hold")
			if body := string(unhold.Body()); !strings.Contains(body, "a=sendrecv") {
				t.Errorf("X still on hold:\n%s", body)
			}
			select {
			case inv := <-py.invites:
				t.Errorf("Y got a new INVITE:\n%s", inv)
			case inv := <-px.invites:
				t.Errorf("X got a new INVITE:\n%s", inv)
			default:
			}
			px.sendRTP(t, py, 10)
			py.sendRTP(t, px, 10)

			rows := rowsByReason(t, cs, 2)
			r1, r2 := rows["transferred to 10003 by 10002"], rows["transferred to 10001 by 10002"]
			if r1.HangupBy != "transfer" || r1.Disposition != directory.Answered ||
				!(r1.From == "10001" && r1.To == "10002" || r1.From == "10002" && r1.To == "10001") {
				t.Errorf("call 1 row: %+v (rows %+v)", r1, rows)
			}
			if r2.HangupBy != "transfer" || !(r2.From == "10002" && r2.To == "10003" || r2.From == "10003" && r2.To == "10002") {
				t.Errorf("call 2 row: %+v (rows %+v)", r2, rows)
			}
			ac := cs.ActiveCalls()
			if len(ac) != 1 || ac[0].From != "10001" || ac[0].To != "10003" || ac[0].CallerID != x.ID ||
				ac[0].CalleeID != y.ID || ac[0].State != "talking" {
				t.Errorf("active calls after the transfer: %+v", ac)
			}
			if c, leg, _ := cs.b.monitors.Monitored("10003"); c == nil || leg != tc.wantLegY {
				t.Errorf("monitoring finds Y on leg %v of %v, want %v", leg, c, tc.wantLegY)
			}
			if c, _, _ := cs.b.monitors.Monitored("10002"); c != nil {
				t.Errorf("monitoring still finds the transferor")
			}
			cs.b.Mu.Lock()
			sx, st2, sy := cs.b.PerExt["10001"], cs.b.PerExt["10002"], cs.b.PerExt["10003"]
			cs.b.Mu.Unlock()
			if sx != 1 || st2 != 0 || sy != 1 {
				t.Errorf("call slots: X %d, T %d, Y %d; want 1, 0, 1", sx, st2, sy)
			}

			if err := bye1(); err != nil {
				t.Fatalf("X hangs up: %v", err)
			}
			wait(t, py.ended, "BYE at Y")
			last := cs.nextCDR(t)
			if last.From != "10001" || last.To != "10003" || last.CallerID != x.ID || last.CalleeID != y.ID ||
				last.Dialed != "10003" || last.Disposition != directory.Answered || last.AnsweredAt.IsZero() ||
				last.HangupBy != "caller" || last.Direction != directory.Internal ||
				last.Reason != "transferred by 10002" {
				t.Errorf("X and Y row: %+v", last)
			}
			_ = tr
			cs.noCallLeft(t)
		})
	}
}

// TestAttendedTransferRefused: Replaces naming a call of someone else, or
// no call, fails the transfer in the NOTIFY and leaves both calls as they
// were.
func TestAttendedTransferRefused(t *testing.T) {
	st, _ := openSQLite(t)
	for _, ext := range []string{"10001", "10002", "10003", "10004"} {
		addUser(t, st, ext)
	}
	cs := startCallServer(t, st, CallConfig{})
	px := newCallPhone(t, cs, "10001", answerOK)
	pt := newCallPhone(t, cs, "10002", answerOK)
	py := newCallPhone(t, cs, "10003", answerOK)
	pz := newCallPhone(t, cs, "10004", answerOK)

	s1, err := px.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dt := wait(t, pt.incoming, "T answers")
	s2, err := pz.dial(t.Context(), "10003") // a call T is not in
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, py.incoming, "Y answers")
	side := calleeSide(pt, dt)
	for _, tc := range []struct{ rep, frag string }{
		{clientReplaces(s2), "SIP/2.0 403 Forbidden (Not Your Dialog)"},
		{replacesOf(s2.InviteRequest.CallID().Value(), "nope", "nada"), "SIP/2.0 481 Call/Transaction Does Not Exist"},
		{replacesOf("unknown@nowhere", "1", "2"), "SIP/2.0 481 Call/Transaction Does Not Exist"},
	} {
		if got := side.refer(t, "<sip:10003@"+cs.realm()+"?Replaces="+url.QueryEscape(tc.rep)+">"); got != 202 {
			t.Fatalf("REFER: %d, want 202", got)
		}
		wantNotify(t, pt, "SIP/2.0 100 Trying", false)
		wantNotify(t, pt, tc.frag, true)
		if row := cs.nextCDR(t); row.Disposition != directory.Failed || row.From != "10002" ||
			!strings.HasPrefix(row.Reason, "transfer failed: replaces") {
			t.Errorf("attempt row: %+v", row)
		}
	}
	px.sendRTP(t, pt, 5)
	pt.sendRTP(t, px, 5)
	pz.sendRTP(t, py, 5)
	py.sendRTP(t, pz, 5)
	if n := len(cs.ActiveCalls()); n != 2 {
		t.Errorf("active calls: %d, want 2", n)
	}
	s1.Bye(t.Context())
	wait(t, pt.ended, "BYE at T")
	s2.Bye(t.Context())
	wait(t, py.ended, "BYE at Y")
	for range 2 {
		if row := cs.nextCDR(t); row.HangupBy != "caller" {
			t.Errorf("row: %+v", row)
		}
	}
	cs.noCallLeft(t)
}

// TestReplacesInvite: X talks to T; Z, whom authz lets act on others'
// calls (calls.control), sends INVITE with Replaces naming T's dialog and
// takes T's place. An INVITE with Replaces naming no dialog gets 481.
func TestReplacesInvite(t *testing.T) {
	st, _ := openSQLite(t)
	x := addUser(t, st, "10001")
	addUser(t, st, "10002")
	z := addUser(t, st, "10004")
	if err := st.SetOverrides(t.Context(), z.ID, map[string]string{"calls.control": "any"}); err != nil {
		t.Fatal(err)
	}
	cs := startCallServer(t, st, CallConfig{})
	px := newCallPhone(t, cs, "10001", answerOK)
	pt := newCallPhone(t, cs, "10002", answerOK)
	pz := newCallPhone(t, cs, "10004", answerOK)

	_, err := pz.dialWith(t.Context(), "10002", sip.NewHeader("Replaces", replacesOf("unknown@nowhere", "1", "2")))
	if got := status(err); got != 481 {
		t.Errorf("INVITE with Replaces naming no dialog: %d (%v), want 481", got, err)
	}
	s1, err := px.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dt := wait(t, pt.incoming, "T answers")
	px.sendRTP(t, pt, 3)
	sz, err := pz.dialWith(t.Context(), "10002", sip.NewHeader("Replaces", serverReplaces(dt)))
	if err != nil {
		t.Fatalf("INVITE with Replaces: %v", err)
	}
	wait(t, pt.ended, "BYE at the replaced party")
	px.sendRTP(t, pz, 10)
	pz.sendRTP(t, px, 10)
	ac := cs.ActiveCalls()
	if len(ac) != 1 || ac[0].From != "10001" || ac[0].To != "10004" || ac[0].CalleeID != z.ID {
		t.Errorf("active calls: %+v", ac)
	}
	if row := cs.nextCDR(t); row.HangupBy != "transfer" || row.To != "10002" || row.Reason != "replaced by 10004" {
		t.Errorf("first row: %+v", row)
	}
	if err := sz.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, px.ended, "BYE at X")
	if row := cs.nextCDR(t); row.From != "10001" || row.To != "10004" || row.CallerID != x.ID ||
		row.CalleeID != z.ID || row.HangupBy != "callee" || row.Reason != "replaced 10002" {
		t.Errorf("second row: %+v", row)
	}
	_ = s1
	cs.noCallLeft(t)
}

// TestTransferNotifiesRinging: the transferor learns that the target
// rings before it answers, and the dashboard shows the transferee and the
// target afterwards.
func TestTransferNotifiesRinging(t *testing.T) {
	st, _ := openSQLite(t)
	a := addUser(t, st, "10001")
	addUser(t, st, "10002")
	c := addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerWhenTold)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, pb.incoming, "answered call")
	if ac := cs.ActiveCalls(); len(ac) != 1 || ac[0].To != "10002" {
		t.Fatalf("active calls: %+v", ac)
	}
	if got := calleeSide(pb, dlgB).refer(t, "<sip:10003@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	wantNotify(t, pb, "SIP/2.0 180 Ringing", false)
	pc.answerNow <- struct{}{}
	wait(t, pc.incoming, "answer by the target")
	wantNotify(t, pb, "SIP/2.0 200 OK", true)
	wait(t, pb.ended, "BYE at the transferor")
	ac := cs.ActiveCalls()
	if len(ac) != 1 || ac[0].From != "10001" || ac[0].To != "10003" || ac[0].CallerID != a.ID ||
		ac[0].CalleeID != c.ID || ac[0].Direction != string(directory.Internal) {
		t.Errorf("active calls after the transfer: %+v", ac)
	}
	pa.sendRTP(t, pc, 5)
	cs.nextCDR(t)
	sess.Bye(t.Context())
	wait(t, pc.ended, "BYE at the target")
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

func TestReferReplaces(t *testing.T) {
	for _, tc := range []struct {
		in       string
		has, ok  bool
		callID   string
		from, to string
	}{
		{"<sip:10003@pbx>", false, true, "", "", ""},
		{"<sip:10003@pbx?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>", true, true, "abc@h", "2", "1"},
		{"<sip:10003@pbx?X=1&replaces=abc%3Bfrom-tag%3D2%3Bto-tag%3D1%3Bearly-only>", true, true, "abc", "2", "1"},
		{"<sip:10003@pbx?Replaces=abc%3Bto-tag%3D1>", true, false, "", "", ""},
		{"<sip:10003@pbx?Replaces=%zz>", true, false, "", "", ""},
	} {
		r, has, ok := call.ReferReplaces(tc.in)
		if has != tc.has || ok != tc.ok || r.CallID != tc.callID || r.FromTag != tc.from || r.ToTag != tc.to {
			t.Errorf("referReplaces(%q) = %+v %v %v", tc.in, r, has, ok)
		}
	}
}

// TestReplacesInviteRefused: an agent who knows a colleague's dialog
// (Call-ID and both tags) cannot take over the call: 403 with authz's
// reason, and the call goes on. The replaced party's own user, from
// another of their phones, may.
func TestReplacesInviteRefused(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	addUser(t, st, "10004")
	cs := startCallServer(t, st, CallConfig{})
	px := newCallPhone(t, cs, "10001", answerOK)
	pt := newCallPhone(t, cs, "10002", answerOK)
	pz := newCallPhone(t, cs, "10004", answerOK)

	s1, err := px.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dt := wait(t, pt.incoming, "T answers")
	_, err = pz.dialWith(t.Context(), "10002", sip.NewHeader("Replaces", serverReplaces(dt)))
	if got := status(err); got != 403 || !strings.Contains(reasonOf(err), "calls.control") {
		t.Fatalf("agent's INVITE with Replaces: %d %q (%v), want 403 naming calls.control", got, reasonOf(err), err)
	}
	select {
	case <-pt.ended:
		t.Fatal("the replaced party got a BYE")
	default:
	}
	px.sendRTP(t, pt, 5)
	pt.sendRTP(t, px, 5)

	// T's second phone takes the call over from T's first.
	pt2 := newCallPhone(t, cs, "10002", answerOK)
	s2, err := pt2.dialWith(t.Context(), "10002", sip.NewHeader("Replaces", serverReplaces(dt)))
	if err != nil {
		t.Fatalf("INVITE with Replaces from the same user's other phone: %v", err)
	}
	wait(t, pt.ended, "BYE at the first phone")
	px.sendRTP(t, pt2, 5)
	cs.nextCDR(t)
	if err := s2.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, px.ended, "BYE at X")
	cs.nextCDR(t)
	_ = s1
	cs.noCallLeft(t)
}
