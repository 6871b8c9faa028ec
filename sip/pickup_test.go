package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/pickup"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// pickupUsers makes 10001 (the caller), 10002 and 10004 and 10007 in the
// group Sales, and 10003 in no group; 10007 gets calls.control at scope
// control ("" for none). Nobody stays in the default group.
func pickupUsers(t *testing.T, st directory.Store, control string) map[string]*directory.User {
	t.Helper()
	users := map[string]*directory.User{}
	for _, ext := range []string{"10001", "10002", "10003", "10004", "10007"} {
		users[ext] = addUser(t, st, ext)
	}
	dg, err := st.DefaultGroup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		st.RemoveMember(t.Context(), dg.ID, u.ID)
	}
	addGroup(t, st, "Sales", "16000", users["10002"].ID, users["10004"].ID, users["10007"].ID)
	if control != "" {
		if err := st.SetOverrides(t.Context(), users["10007"].ID, map[string]string{"calls.control": control}); err != nil {
			t.Fatal(err)
		}
	}
	return users
}

type dialResult struct {
	s   *sipgo.DialogClientSession
	err error
}

// ringFrom has p dial ext in the background. The dial ends (cancelled if
// still ringing) before the test's phones close.
func ringFrom(t *testing.T, p *callPhone, ext string) <-chan dialResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan dialResult, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := p.dial(ctx, ext)
		out <- dialResult{s, err}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return out
}

// waitRinging waits until the pickup board shows a phone of ext ringing,
// and returns that leg.
func waitRinging(t *testing.T, cs *callServer, ext string) pickup.RingingLeg {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		if ls := cs.b.pickups.Ringing(func(l pickup.RingingLeg) bool { return l.Ext == ext }); len(ls) > 0 {
			return ls[0]
		}
		time.Sleep(5 * time.Millisecond) // polling: the board raises no event of its own
	}
	t.Fatalf("%s never rang", ext)
	return pickup.RingingLeg{}
}

// answered waits for the caller's dial to be answered.
func answered(t *testing.T, ch <-chan dialResult) *sipgo.DialogClientSession {
	t.Helper()
	r := wait(t, ch, "the caller's answer")
	if r.err != nil {
		t.Fatalf("caller: %v", r.err)
	}
	return r.s
}

// TestPickupGroup: 10001 calls 10002, whose two phones ring; 10007, in
// 10002's group, dials *8 and talks to 10001. Both of 10002's phones get
// CANCEL; the CDR row shows 10007 as the callee, picked up from 10002;
// the audit log says who picked up.
func TestPickupGroup(t *testing.T) {
	st, _ := openSQLite(t)
	users := pickupUsers(t, st, "department")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb1 := newCallPhone(t, cs, "10002", answerRing)
	pb2 := newCallPhone(t, cs, "10002", answerRing, func(p *phone, _ *[]sipgo.ClientOption) {
		p.contact = "sip:10002@192.168.1.51:5060" // a binding of its own
	})
	pp := newCallPhone(t, cs, "10007", answerOK)

	call := ringFrom(t, pa, "10002")
	wait(t, pb1.invites, "10002's first phone rings")
	wait(t, pb2.invites, "10002's second phone rings")
	waitRinging(t, cs, "10002")

	sp, err := pp.dial(t.Context(), "*8")
	if err != nil {
		t.Fatalf("*8: %v", err)
	}
	sa := answered(t, call)
	wait(t, pb1.cancels, "CANCEL at 10002's first phone")
	wait(t, pb2.cancels, "CANCEL at 10002's second phone")
	pa.sendRTP(t, pp, 10)
	pp.sendRTP(t, pa, 10)
	if ac := cs.ActiveCalls(); len(ac) != 1 || ac[0].From != "10001" || ac[0].To != "10007" ||
		ac[0].CalleeID != users["10007"].ID {
		t.Errorf("active calls: %+v", ac)
	}
	if err := sp.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pa.ended, "BYE at the caller")
	row := cs.nextCDR(t)
	if row.From != "10001" || row.To != "10007" || row.Dialed != "10002" || row.CallerID != users["10001"].ID ||
		row.CalleeID != users["10007"].ID || row.Disposition != directory.Answered || row.AnsweredAt.IsZero() ||
		row.HangupBy != "callee" || row.Reason != "picked up by 10007 from 10002" {
		t.Errorf("cdr: %+v", row)
	}
	entries, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "call.pickup"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].ActorID != users["10007"].ID || entries[0].Object != "extension:10002" {
		t.Errorf("audit: %+v", entries)
	}
	_ = sa
	cs.noCallLeft(t)
}

// TestPickupDirected: with calls.control any, 10007 picks up with **10003
// a call ringing at 10003, outside its groups; the caller hangs up.
func TestPickupDirected(t *testing.T) {
	st, _ := openSQLite(t)
	users := pickupUsers(t, st, "any")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pc := newCallPhone(t, cs, "10003", answerRing)
	pp := newCallPhone(t, cs, "10007", answerOK)

	call := ringFrom(t, pa, "10003")
	wait(t, pc.invites, "10003 rings")
	waitRinging(t, cs, "10003")
	if _, err := pp.dial(t.Context(), "**10003"); err != nil {
		t.Fatalf("**10003: %v", err)
	}
	sa := answered(t, call)
	wait(t, pc.cancels, "CANCEL at 10003")
	pp.sendRTP(t, pa, 10)
	pa.sendRTP(t, pp, 10)
	if err := sa.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pp.ended, "BYE at the picker")
	row := cs.nextCDR(t)
	if row.To != "10007" || row.CalleeID != users["10007"].ID || row.Dialed != "10003" ||
		row.HangupBy != "caller" || row.Reason != "picked up by 10007 from 10003" {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestPickupReplaces: 10007 presses the busy lamp key of ringing 10002:
// an INVITE with Replaces naming the early dialog of 10002's phone (its
// Call-ID, as dialog-info shows it) takes the call. Tags that are not
// the PBX's for that dialog get 481 and the call rings on.
func TestPickupReplaces(t *testing.T) {
	st, _ := openSQLite(t)
	users := pickupUsers(t, st, "department")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	pp := newCallPhone(t, cs, "10007", answerOK)

	call := ringFrom(t, pa, "10002")
	inv := wait(t, pb.invites, "10002 rings")
	if l := waitRinging(t, cs, "10002"); l.LegID != inv.CallID().Value() {
		t.Fatalf("ringing leg %q, the phone's INVITE has Call-ID %q", l.LegID, inv.CallID().Value())
	}
	early := inv.CallID().Value()
	_, err := pp.dialWith(t.Context(), "10002", sip.NewHeader("Replaces", replacesOf(early, "x1", "x2")))
	if got := status(err); got != 481 {
		t.Errorf("Replaces with tags not of that dialog: %d (%v), want 481", got, err)
	}
	select {
	case <-pb.cancels:
		t.Fatal("the ringing phone was cancelled by a refused pickup")
	default:
	}
	rep := replacesOf(early, "phone-tag", wire.Tag(inv.From().Params)) + ";early-only"
	sp, err := pp.dialWith(t.Context(), "10002", sip.NewHeader("Replaces", rep))
	if err != nil {
		t.Fatalf("INVITE with Replaces naming the early dialog: %v", err)
	}
	sa := answered(t, call)
	wait(t, pb.cancels, "CANCEL at 10002")
	pa.sendRTP(t, pp, 10)
	pp.sendRTP(t, pa, 10)
	if err := sp.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pa.ended, "BYE at the caller")
	if row := cs.nextCDR(t); row.CalleeID != users["10007"].ID || row.Reason != "picked up by 10007 from 10002" {
		t.Errorf("cdr: %+v", row)
	}
	_ = sa

	// The busy lamp: 10007 watches 10002, whose dialog-info shows the
	// Call-ID of the ringing phone's dialog and no tags; the phone sends
	// Replaces with that Call-ID and empty tags.
	_, res := subscribeTo(t, pp, "10002", "dialog", 600)
	wantStatus(t, res, 200)
	nextNotify(t, pp)
	call = ringFrom(t, pa, "10002")
	inv = wait(t, pb.invites, "10002 rings again")
	body := string(notifyUntil(t, pp, "<state>early</state>").Body())
	_, shown, _ := strings.Cut(body, `call-id="`)
	shown, _, _ = strings.Cut(shown, `"`)
	if shown != inv.CallID().Value() {
		t.Fatalf("dialog-info shows call-id %q, the ringing phone's dialog is %q:\n%s", shown, inv.CallID().Value(), body)
	}
	waitRinging(t, cs, "10002")
	sp, err = pp.dialWith(t.Context(), "10002", sip.NewHeader("Replaces", shown+";to-tag=;from-tag="))
	if err != nil {
		t.Fatalf("INVITE with Replaces naming the early dialog by Call-ID only: %v", err)
	}
	answered(t, call)
	wait(t, pb.cancels, "CANCEL at 10002")
	pp.sendRTP(t, pa, 5)
	if err := sp.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pa.ended, "BYE at the caller")
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestPickupRefused: an agent without calls.control gets 403 naming it
// for *8, **EXT and Replaces alike, and so does a picker whose scope
// (department) does not cover the extension; the call rings on, and a
// picker whose scope covers it takes it afterwards.
func TestPickupRefused(t *testing.T) {
	st, _ := openSQLite(t)
	users := pickupUsers(t, st, "department")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	pc := newCallPhone(t, cs, "10003", answerRing)
	agent := newCallPhone(t, cs, "10004", answerOK)
	pp := newCallPhone(t, cs, "10007", answerOK)

	call := ringFrom(t, pa, "10002")
	inv := wait(t, pb.invites, "10002 rings")
	waitRinging(t, cs, "10002")
	for _, dial := range []func() (*sipgo.DialogClientSession, error){
		func() (*sipgo.DialogClientSession, error) { return agent.dial(t.Context(), "*8") },
		func() (*sipgo.DialogClientSession, error) { return agent.dial(t.Context(), "**10002") },
		func() (*sipgo.DialogClientSession, error) {
			return agent.dialWith(t.Context(), "10002", sip.NewHeader("Replaces", inv.CallID().Value()))
		},
	} {
		_, err := dial()
		if got := status(err); got != 403 || !strings.Contains(reasonOf(err), "calls.control") {
			t.Errorf("agent's pickup: %d %q (%v), want 403 naming calls.control", got, reasonOf(err), err)
		}
	}

	// 10003 is in none of 10007's groups: out of a department scope,
	// ringing or not.
	_, err := pp.dial(t.Context(), "**10003")
	if got := status(err); got != 403 || !strings.Contains(reasonOf(err), "calls.control") {
		t.Errorf("**10003 out of scope, not ringing: %d %q, want 403", got, reasonOf(err))
	}
	call2 := ringFrom(t, pa, "10003")
	inv2 := wait(t, pc.invites, "10003 rings")
	waitRinging(t, cs, "10003")
	_, err = pp.dial(t.Context(), "**10003")
	if got := status(err); got != 403 || !strings.Contains(reasonOf(err), "calls.control") {
		t.Errorf("**10003 out of scope: %d %q, want 403", got, reasonOf(err))
	}
	_, err = pp.dialWith(t.Context(), "10003", sip.NewHeader("Replaces", inv2.CallID().Value()))
	if got := status(err); got != 403 {
		t.Errorf("Replaces out of scope: %d %q, want 403", got, reasonOf(err))
	}
	select {
	case <-pb.cancels:
		t.Fatal("10002 was cancelled by a refused pickup")
	case <-pc.cancels:
		t.Fatal("10003 was cancelled by a refused pickup")
	default:
	}
	// Group pickup takes the call in 10007's group, not 10003's that
	// rang later either.
	sp, err := pp.dial(t.Context(), "*8")
	if err != nil {
		t.Fatalf("*8: %v", err)
	}
	sa := answered(t, call)
	wait(t, pb.cancels, "CANCEL at 10002")
	pa.sendRTP(t, pp, 5)
	if err := sp.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pa.ended, "BYE at the caller")
	if row := cs.nextCDR(t); row.CalleeID != users["10007"].ID {
		t.Errorf("cdr: %+v", row)
	}
	_ = sa
	select {
	case <-pc.cancels:
		t.Fatal("10003 was cancelled by a group pickup of another call")
	default:
	}
	// *8 again: only 10003 rings, outside the groups.
	_, err = pp.dial(t.Context(), "*8")
	if got := status(err); got != 404 {
		t.Errorf("*8 with only 10003 ringing: %d %q, want 404", got, reasonOf(err))
	}
	_ = call2 // cancelled by its caller when the test ends
}

// TestPickupNothingRinging: 404 (Nothing To Pick Up) when nothing rings
// in the groups or at the extension, when the extension is in an answered
// call, and for the picker's own outgoing call.
func TestPickupNothingRinging(t *testing.T) {
	st, _ := openSQLite(t)
	pickupUsers(t, st, "any")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pp := newCallPhone(t, cs, "10007", answerOK)
	pp2 := newCallPhone(t, cs, "10007", answerOK)
	pc := newCallPhone(t, cs, "10003", answerRing)

	for _, code := range []string{"*8", "**10002", "**10099"} {
		_, err := pp.dial(t.Context(), code)
		if got := status(err); got != 404 || reasonOf(err) != "Not Found (Nothing To Pick Up)" {
			t.Errorf("%s with nothing ringing: %d %q, want 404 Not Found (Nothing To Pick Up)", code, got, reasonOf(err))
		}
	}
	sa, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatal(err)
	}
	wait(t, pb.incoming, "10002 answers")
	if _, err := pp.dial(t.Context(), "**10002"); status(err) != 404 {
		t.Errorf("**10002 in an answered call: %v, want 404", err)
	}
	if err := sa.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.ended, "BYE at 10002")
	cs.nextCDR(t)

	// 10007's own call to 10003: not for 10007's other phone to pick up.
	call := ringFrom(t, pp2, "10003")
	wait(t, pc.invites, "10003 rings")
	waitRinging(t, cs, "10003")
	if _, err := pp.dial(t.Context(), "**10003"); status(err) != 404 {
		t.Errorf("**10003 for the picker's own call: %v, want 404", err)
	}
	select {
	case r := <-call:
		t.Fatalf("the picker's own call ended: %v", r.err)
	default:
	}
}

// TestPickupGroupOldestFirst: two calls ring in 10007's group; *8 takes
// the one that has rung longer, and *8 again the other one. A caller who
// sent no offer cannot be picked up (488) and goes on ringing.
func TestPickupGroupOldestFirst(t *testing.T) {
	st, _ := openSQLite(t)
	users := pickupUsers(t, st, "department")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	pc := newCallPhone(t, cs, "10003", answerOK)
	pd := newCallPhone(t, cs, "10004", answerRing)
	pp := newCallPhone(t, cs, "10007", answerOK)
	pp2 := newCallPhone(t, cs, "10007", answerOK, func(p *phone, _ *[]sipgo.ClientOption) {
		p.contact = "sip:10007@192.168.1.51:5060"
	})

	first := ringFrom(t, pa, "10002")
	wait(t, pb.invites, "10002 rings")
	waitRinging(t, cs, "10002")
	second := ringFrom(t, pc, "10004")
	wait(t, pd.invites, "10004 rings")
	waitRinging(t, cs, "10004")

	s1, err := pp.dial(t.Context(), "*8")
	if err != nil {
		t.Fatalf("first *8: %v", err)
	}
	answered(t, first)
	wait(t, pb.cancels, "CANCEL at 10002")
	select {
	case r := <-second:
		t.Fatalf("the call to 10004 ended with the first pickup: %v", r.err)
	default:
	}
	s2, err := pp2.dial(t.Context(), "*8")
	if err != nil {
		t.Fatalf("second *8: %v", err)
	}
	answered(t, second)
	wait(t, pd.cancels, "CANCEL at 10004")
	pa.sendRTP(t, pp, 5)
	pc.sendRTP(t, pp2, 5)
	for _, s := range []*sipgo.DialogClientSession{s1, s2} {
		if err := s.Bye(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, pa.ended, "BYE at 10001")
	wait(t, pc.ended, "BYE at 10003")
	got := map[string]directory.Call{}
	for range 2 {
		r := cs.nextCDR(t)
		got[r.From] = r
	}
	if r := got["10001"]; r.Reason != "picked up by 10007 from 10002" || r.CalleeID != users["10007"].ID {
		t.Errorf("row of the first call: %+v", r)
	}
	if r := got["10003"]; r.Reason != "picked up by 10007 from 10004" || r.CalleeID != users["10007"].ID {
		t.Errorf("row of the second call: %+v", r)
	}
	cs.noCallLeft(t)

	// Late offer: the caller's INVITE has no SDP.
	ctx, cancel := context.WithCancel(t.Context())
	late := make(chan error, 1)
	go func() {
		_, err := pa.dialLate(ctx, "10002", pa.answerWith(t))
		late <- err
	}()
	wait(t, pb.invites, "10002 rings (late offer)")
	waitRinging(t, cs, "10002")
	_, err = pp.dial(t.Context(), "*8")
	if got := status(err); got != 488 {
		t.Errorf("*8 on a call without an offer: %d %q, want 488", got, reasonOf(err))
	}
	select {
	case <-pb.cancels:
		t.Fatal("10002 cancelled by a refused pickup")
	default:
	}
	cancel()
	wait(t, late, "the late-offer caller gives up")
	wait(t, pb.cancels, "CANCEL at 10002")
	if r := cs.nextCDR(t); r.Disposition != directory.Cancelled {
		t.Errorf("late-offer call: %+v", r)
	}
	cs.noCallLeft(t)
}

func TestParseEarlyReplaces(t *testing.T) {
	for _, tc := range []struct {
		in               string
		ok               bool
		callID, to, from string
	}{
		{"abc@h;to-tag=1;from-tag=2", true, "abc@h", "1", "2"},
		{"abc@h;from-tag=2;to-tag=1;early-only", true, "abc@h", "1", "2"},
		{"abc@h;to-tag=;from-tag=", true, "abc@h", "", ""},
		{" abc@h ", true, "abc@h", "", ""},
		{";to-tag=1;from-tag=2", false, "", "", ""},
		{"", false, "", "", ""},
		{strings.Repeat("x", 257), false, "", "", ""},
	} {
		r, ok := pickup.ParseEarlyReplaces(tc.in)
		if ok != tc.ok || r.CallID != tc.callID || r.ToTag != tc.to || r.FromTag != tc.from {
			t.Errorf("parseEarlyReplaces(%q) = %+v %v", tc.in, r, ok)
		}
	}
}

// TestPickupBoard: only extensions' phones that ring are on the board,
// one leg per call, the call that rang first first; a leg answered or
// over leaves it.
func TestPickupBoard(t *testing.T) {
	var pb pickup.Board
	pb.Leg(LegEvent{CallID: "c1", LegID: "l1", Ext: "10002", UserID: 2, State: LegRinging})
	pb.Leg(LegEvent{CallID: "c1", LegID: "c1", Ext: "10001", UserID: 1, Initiator: true, State: LegRinging})
	time.Sleep(time.Millisecond) // the board orders by when a leg began to ring
	pb.Leg(LegEvent{CallID: "c2", LegID: "l2", Ext: "10003", UserID: 3, State: LegRinging})
	pb.Leg(LegEvent{CallID: "c1", LegID: "l3", Ext: "10004", UserID: 4, State: LegRinging})
	pb.Leg(LegEvent{CallID: "c1", LegID: "l1", Ext: "10002", UserID: 2, State: LegRinging}) // again: still first
	all := func(pickup.RingingLeg) bool { return true }
	got := pb.Ringing(all)
	if len(got) != 2 || got[0].LegID != "l1" || got[1].LegID != "l2" {
		t.Fatalf("ringing: %+v", got)
	}
	if _, ok := pb.Get("c1"); ok {
		t.Error("the caller's own leg is on the board")
	}
	pb.Leg(LegEvent{CallID: "c1", LegID: "l1", Ext: "10002", UserID: 2, State: LegEnded})
	pb.Leg(LegEvent{CallID: "c2", LegID: "l2", Ext: "10003", UserID: 3, State: LegAnswered})
	got = pb.Ringing(all)
	if len(got) != 1 || got[0].LegID != "l3" {
		t.Fatalf("ringing after l1 ended and l2 answered: %+v", got)
	}
}
