package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/route"
)

// setForward changes a user's forwarding and has the server see it.
func setForward(t *testing.T, cs *callServer, id int64, p directory.UserPatch) {
	t.Helper()
	if _, err := cs.st.UpdateUser(t.Context(), id, p); err != nil {
		t.Fatalf("set forwarding: %v", err)
	}
	if err := cs.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func sp(s string) *string { return &s }

// noInvite fails when p was sent an INVITE.
func noInvite(t *testing.T, p *callPhone, who string) {
	t.Helper()
	select {
	case req := <-p.invites:
		t.Errorf("%s was invited: %s", who, req.StartLine())
	default:
	}
}

// wantForwarded checks an answered forwarded call's CDR row.
func wantForwarded(t *testing.T, row directory.Call, dialed, to string, calleeID int64, note string) {
	t.Helper()
	if row.Disposition != directory.Answered || row.Dialed != dialed || row.To != to || row.CalleeID != calleeID ||
		!strings.HasPrefix(row.Reason, note) {
		t.Errorf("cdr: %+v; want answered, dialed %s, to %s (user %d), reason %q", row, dialed, to, calleeID, note)
	}
}

func TestForwardDND(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b, c := addUser(t, st, "10002"), addUser(t, st, "10003")
	addGroup(t, st, "Sales", "20000", b.ID, c.ID)
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)
	setForward(t, cs, b.ID, directory.UserPatch{DND: new(true)})

	_, err := pa.dial(t.Context(), "10002")
	if status(err) != 486 {
		t.Fatalf("call to a user in DND: %v, want 486", err)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Busy || row.Reason != "do not disturb" {
		t.Errorf("cdr: %+v", row)
	}
	noInvite(t, pb, "the phone in DND")

	sess, err := pa.dial(t.Context(), "20000")
	if err != nil {
		t.Fatalf("dial group: %v", err)
	}
	wait(t, pc.incoming, "answer by the member not in DND")
	noInvite(t, pb, "the group member in DND")
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.Disposition != directory.Answered || row.CalleeID != c.ID {
		t.Errorf("group cdr: %+v", row)
	}

	// The phone in DND still calls out.
	out, err := pb.dial(t.Context(), "10003")
	if err != nil {
		t.Fatalf("call from the phone in DND: %v", err)
	}
	wait(t, pc.incoming, "answer of the call from DND")
	out.Bye(t.Context())
	if row := cs.nextCDR(t); row.Disposition != directory.Answered || row.CallerID != b.ID {
		t.Errorf("outgoing cdr: %+v", row)
	}

	// DND with a busy forward goes there.
	setForward(t, cs, b.ID, directory.UserPatch{ForwardBusy: sp("10003")})
	sess, err = pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("call to DND with busy forward: %v", err)
	}
	wait(t, pc.incoming, "answer at the busy forward")
	sess.Bye(t.Context())
	wantForwarded(t, cs.nextCDR(t), "10002", "10003", c.ID, "forwarded from 10002 (do not disturb)")
	noInvite(t, pb, "the phone in DND")
	cs.noCallLeft(t)
}

func TestForwardAlways(t *testing.T) {
	st, _ := openSQLite(t)
	a := addUser(t, st, "10001")
	b, c := addUser(t, st, "10002"), addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)
	setForward(t, cs, b.ID, directory.UserPatch{ForwardAlways: sp("10003")})

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pc.incoming, "answer at the forward target")
	pa.sendRTP(t, pc, 10)
	pc.sendRTP(t, pa, 10)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pc.ended, "bye at the forward target")
	row := cs.nextCDR(t)
	wantForwarded(t, row, "10002", "10003", c.ID, "forwarded from 10002 (always)")
	if row.CallerID != a.ID || row.From != "10001" {
		t.Errorf("cdr caller: %+v", row)
	}
	noInvite(t, pb, "the forwarding phone")

	// Cancelled: the phones ring again.
	setForward(t, cs, b.ID, directory.UserPatch{ForwardAlways: sp("")})
	sess, err = pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial after cancelling: %v", err)
	}
	wait(t, pb.incoming, "answer by the phone itself")
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.CalleeID != b.ID || row.Reason != "" {
		t.Errorf("cdr without forward: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestForwardBusyNoAnswerOffline(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b, c, d := addUser(t, st, "10002"), addUser(t, st, "10003"), addUser(t, st, "10004")
	e := addUser(t, st, "10005") // never registers
	cs := startCallServer(t, st, CallConfig{RingTime: 300 * time.Millisecond})
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerBusy)
	pc := newCallPhone(t, cs, "10003", answerRing)
	pd := newCallPhone(t, cs, "10004", answerOK)
	setForward(t, cs, b.ID, directory.UserPatch{ForwardBusy: sp("10004"), ForwardNoAnswer: sp("10003")})
	setForward(t, cs, c.ID, directory.UserPatch{ForwardNoAnswer: sp("10004"), ForwardBusy: sp("10002")})
	setForward(t, cs, e.ID, directory.UserPatch{ForwardOffline: sp("10004")})

	for _, tc := range []struct {
		dial, note string
		rang       *callPhone
	}{
		{"10002", "forwarded from 10002 (busy)", nil},
		{"10003", "forwarded from 10003 (no answer)", pc},
		{"10005", "forwarded from 10005 (not registered)", nil},
	} {
		sess, err := pa.dial(t.Context(), tc.dial)
		if err != nil {
			t.Fatalf("dial %s: %v", tc.dial, err)
		}
		wait(t, pd.incoming, "answer at the forward target of "+tc.dial)
		if tc.rang != nil {
			wait(t, tc.rang.cancels, "cancel at the phone not answering")
		}
		pa.sendRTP(t, pd, 5)
		pd.sendRTP(t, pa, 5)
		sess.Bye(t.Context())
		wantForwarded(t, cs.nextCDR(t), tc.dial, "10004", d.ID, tc.note)
	}
	cs.noCallLeft(t)
}

func TestForwardNoAnswerChainEndsOnLastLeg(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b, c := addUser(t, st, "10002"), addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{RingTime: 300 * time.Millisecond})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	pc := newCallPhone(t, cs, "10003", answerBusy)
	// 10002 no answer -> 10003, busy -> back to 10002: the loop stops and
	// the caller gets the last leg's busy.
	setForward(t, cs, b.ID, directory.UserPatch{ForwardNoAnswer: sp("10003")})
	setForward(t, cs, c.ID, directory.UserPatch{ForwardBusy: sp("10002")})
	_, err := pa.dial(t.Context(), "10002")
	if status(err) != 486 {
		t.Fatalf("dial: %v, want 486 from the last leg", err)
	}
	wait(t, pb.cancels, "cancel at the first callee")
	wait(t, pc.invites, "invite at the no-answer target")
	row := cs.nextCDR(t)
	if row.Disposition != directory.Busy || row.Dialed != "10002" || row.CalleeID != c.ID ||
		row.Reason != "forwarded from 10002 (no answer); 486 Busy Here" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestForwardLoopStops(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b, c := addUser(t, st, "10002"), addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)
	setForward(t, cs, b.ID, directory.UserPatch{ForwardAlways: sp("10003")})
	setForward(t, cs, c.ID, directory.UserPatch{ForwardAlways: sp("10002")})
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pc.incoming, "answer at the last extension of the chain")
	sess.Bye(t.Context())
	wantForwarded(t, cs.nextCDR(t), "10002", "10003", c.ID, "forwarded from 10002 (always)")
	noInvite(t, pb, "the first extension of the loop")
	cs.noCallLeft(t)
}

func TestForwardOutside(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b := addUser(t, st, "10002")
	car := startCarrier(t, true)
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()}})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	setForward(t, cs, b.ID, directory.UserPatch{ForwardAlways: sp("+48229999999")})

	// calls.outbound none: the forward is refused, the phone rings.
	if err := st.SetOverrides(t.Context(), b.ID, map[string]string{"calls.outbound": "none"}); err != nil {
		t.Fatal(err)
	}
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial with the forward refused: %v", err)
	}
	wait(t, pb.incoming, "answer by the phone, the forward refused")
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.CalleeID != b.ID || row.To != "10002" || row.Reason != "" {
		t.Errorf("cdr with the forward refused: %+v", row)
	}
	wait(t, pb.invites, "invite of the phone, the forward refused")
	select {
	case req := <-car.invites:
		t.Errorf("the carrier was invited although calls.outbound is none: %s", req.StartLine())
	default:
	}

	// calls.outbound any: the call goes out through the trunk.
	if err := st.SetOverrides(t.Context(), b.ID, map[string]string{"calls.outbound": "any"}); err != nil {
		t.Fatal(err)
	}
	sess, err = pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial with the forward allowed: %v", err)
	}
	req := wait(t, car.invites, "invite at the carrier")
	if req.Recipient.User != "+48229999999" {
		t.Errorf("carrier invited for %q", req.Recipient.User)
	}
	sess.Bye(t.Context())
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.Dialed != "10002" || row.To != "+48229999999" ||
		row.Direction != directory.Outbound || row.Reason != "forwarded from 10002 (always)" {
		t.Errorf("cdr of the outside forward: %+v", row)
	}
	noInvite(t, pb, "the forwarding phone")
	cs.noCallLeft(t)
}

func TestForwardBusyOverCallLimit(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b, d := addUser(t, st, "10002"), addUser(t, st, "10004")
	addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{MaxCallsPerExt: 1})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)
	pd := newCallPhone(t, cs, "10004", answerOK)
	setForward(t, cs, b.ID, directory.UserPatch{ForwardBusy: sp("10004")})

	first, err := pc.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	wait(t, pb.incoming, "answer of the first call")
	wait(t, pb.invites, "invite of the first call")
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("call over the limit: %v", err)
	}
	wait(t, pd.incoming, "answer at the busy forward")
	sess.Bye(t.Context())
	wantForwarded(t, cs.nextCDR(t), "10002", "10004", d.ID, "forwarded from 10002 (busy)")
	noInvite(t, pb, "the extension at its call limit")
	first.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

func TestForwardRingTimePerUser(t *testing.T) {
	st, _ := openSQLite(t)
	b := addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{RingTime: 300 * time.Millisecond})
	newCallPhone(t, cs, "10002", answerOK)
	ring := func() time.Duration {
		t.Helper()
		cred, ok := cs.b.s.creds.Lookup("10002")
		if !ok {
			t.Fatal("no credential for 10002")
		}
		rt := &route.Route{}
		if ref := cs.b.forwards.RouteUser(t.Context(), rt, cred); ref != nil {
			t.Fatalf("route: %+v", ref)
		}
		c := &call.Call{Core: cs.b.Core, Rt: rt}
		return c.RingDuration()
	}
	if got := ring(); got != 300*time.Millisecond {
		t.Errorf("ring time without a setting = %v, want the PBX's 300ms", got)
	}
	setForward(t, cs, b.ID, directory.UserPatch{ForwardRingSeconds: new(7)})
	if got := ring(); got != 7*time.Second {
		t.Errorf("ring time with 7 s set = %v, want 7s", got)
	}
}

func TestForwardHopLimit(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	var users []*directory.User
	for _, ext := range []string{"10002", "10003", "10004", "10005", "10006", "10007", "10008"} {
		users = append(users, addUser(t, st, ext))
	}
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	phones := map[string]*callPhone{}
	for _, u := range users {
		phones[u.Extension] = newCallPhone(t, cs, u.Extension, answerOK)
	}
	for i, u := range users[:len(users)-1] {
		setForward(t, cs, u.ID, directory.UserPatch{ForwardAlways: sp(users[i+1].Extension)})
	}
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	// Five hops: 10002 -> ... -> 10007, whose own forward is not followed.
	wait(t, phones["10007"].incoming, "answer after five hops")
	sess.Bye(t.Context())
	wantForwarded(t, cs.nextCDR(t), "10002", "10007", users[5].ID,
		"forwarded from 10002 (always), 10003 (always), 10004 (always), 10005 (always), 10006 (always)")
	for ext, p := range phones {
		if ext != "10007" {
			noInvite(t, p, ext)
		}
	}
	cs.noCallLeft(t)
}
