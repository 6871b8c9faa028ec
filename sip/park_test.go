package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// parkSetup: extensions 10001 to 10004 with phones that answer; 10001
// calls 10002, who answers. settings are stored before the server starts.
func parkSetup(t *testing.T, settings map[string]string) (*callServer, map[string]*directory.User,
	map[string]*callPhone, *sipgo.DialogClientSession, *sipgo.DialogServerSession) {
	t.Helper()
	st, _ := openSQLite(t)
	users := map[string]*directory.User{}
	for _, ext := range []string{"10001", "10002", "10003", "10004"} {
		users[ext] = addUser(t, st, ext)
	}
	for k, v := range settings {
		if err := st.SetSetting(t.Context(), k, v); err != nil {
			t.Fatal(err)
		}
	}
	cs := startCallServer(t, st, CallConfig{})
	phones := map[string]*callPhone{}
	for ext := range users {
		phones[ext] = newCallPhone(t, cs, ext, answerOK)
	}
	sess, err := phones["10001"].dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, phones["10002"].incoming, "answered call")
	wait(t, phones["10002"].invites, "the call's INVITE") // later ones are ring-backs
	phones["10001"].sendRTP(t, phones["10002"], 5)
	return cs, users, phones, sess, dlgB
}

// parkCall sends REFER to number from 10002's side of the call and waits for
// the final NOTIFY, which must carry frag.
func parkCall(t *testing.T, cs *callServer, pb *callPhone, dlgB *sipgo.DialogServerSession, number, frag string) {
	t.Helper()
	if got := calleeSide(pb, dlgB).refer(t, "<sip:"+number+"@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER to %s: %d, want 202", number, got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	wantNotify(t, pb, frag, true)
}

// orbitFree waits until orbit holds no call.
func orbitFree(t *testing.T, cs *callServer, orbit string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cs.b.lot.Orbits.Slot(orbit) == nil {
			return
		}
		time.Sleep(10 * time.Millisecond) // polling: freeing leaves no event behind
	}
	t.Fatalf("orbit %s still holds a call", orbit)
}

// TestParkAndRetrieve: 10002 parks 10001 with *70 and hears the orbit;
// 10003 takes the call from the orbit and talks with 10001.
func TestParkAndRetrieve(t *testing.T) {
	cs, users, ph, sess, dlgB := parkSetup(t, nil)
	pa, pb, pc := ph["10001"], ph["10002"], ph["10003"]
	parkCall(t, cs, pb, dlgB, "*70", "SIP/2.0 200 Parked at 701")
	wait(t, pb.ended, "BYE at the parker")
	first := cs.nextCDR(t)
	if first.HangupBy != "transfer" || first.To != "10002" || first.Reason != "parked at 701 by 10002" {
		t.Errorf("first row: %+v", first)
	}
	if s := cs.b.lot.Orbits.Slot("701"); s == nil || s.Parker != users["10002"].ID || s.Caller != "10001" {
		t.Errorf("orbit 701 holds %+v", s)
	}
	var shown bool
	for _, ac := range cs.ActiveCalls() {
		shown = shown || ac.State == "parked" && ac.To == "701" && ac.From == "10001"
	}
	if !shown {
		t.Errorf("active calls do not show the parked call: %+v", cs.ActiveCalls())
	}

	sc, err := pc.dial(t.Context(), "701")
	if err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	pa.sendRTP(t, pc, 10)
	pc.sendRTP(t, pa, 10)
	orbitFree(t, cs, "701")
	parked := cs.nextCDR(t)
	if parked.From != "10001" || parked.To != "701" || parked.Dialed != "*70" || parked.HangupBy != "transfer" ||
		parked.Reason != "retrieved from 701 by 10003" || parked.SIPCallID != first.SIPCallID {
		t.Errorf("parked row: %+v", parked)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pc.ended, "BYE at the retriever")
	last := cs.nextCDR(t)
	if last.From != "10001" || last.To != "10003" || last.CalleeID != users["10003"].ID || last.HangupBy != "caller" ||
		last.Disposition != directory.Answered || last.Direction != directory.Internal {
		t.Errorf("last row: %+v", last)
	}
	sc.Close()
	cs.noCallLeft(t)
}

// TestParkRetrieveRefused: calls.park decides who takes a parked call by
// who parked it. 10002 (own) parks; 10004 (own) may not take it (403
// naming why), 10003 (none) may neither take it, nor watch orbits, nor
// park; 10002 takes its own call back with *70, parks it again, and
// 10004, now with department (all four share the default group), takes
// it.
func TestParkRetrieveRefused(t *testing.T) {
	cs, users, ph, sess, dlgB := parkSetup(t, nil)
	scope := func(ext, s string) {
		t.Helper()
		if err := cs.st.SetOverrides(t.Context(), users[ext].ID, map[string]string{"calls.park": s}); err != nil {
			t.Fatal(err)
		}
	}
	scope("10002", "own")
	scope("10004", "own")
	scope("10003", "none")
	pa, pb, pc, pd := ph["10001"], ph["10002"], ph["10003"], ph["10004"]
	parkCall(t, cs, pb, dlgB, "701", "SIP/2.0 200 Parked at 701")
	wait(t, pb.ended, "BYE at the parker")
	cs.nextCDR(t)

	_, err := pd.dial(t.Context(), "701")
	if code := status(err); code != 403 || !strings.Contains(reasonOf(err), "calls.park") {
		t.Errorf("retrieve by 10004 (own): %d %q, want 403 naming calls.park", code, reasonOf(err))
	}
	_, err = pd.dial(t.Context(), "*70")
	if code := status(err); code != 403 {
		t.Errorf("*70 by 10004 (own): %d %q, want 403", code, reasonOf(err))
	}
	_, err = pc.dial(t.Context(), "701")
	if code := status(err); code != 403 {
		t.Errorf("retrieve by 10003 (none): %d, want 403", code)
	}
	_, res := subscribeTo(t, pc, "701", "dialog", 600)
	wantStatus(t, res, 403)
	if s := cs.b.lot.Orbits.Slot("701"); s == nil {
		t.Fatal("the call left the orbit after refused retrievals")
	}
	_, err = pd.dial(t.Context(), "702")
	if code := status(err); code != 480 {
		t.Errorf("retrieve from an empty orbit: %d, want 480", code)
	}

	_, err = pb.dialBody(t.Context(), "701", nil)
	if code := status(err); code != 488 {
		t.Errorf("retrieve without an offer: %d %q, want 488", code, reasonOf(err))
	}
	// The parker takes it back: own covers its own parked call.
	sb, err := pb.dial(t.Context(), "*70")
	if err != nil {
		t.Fatalf("parker takes the call back: %v", err)
	}
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	if row := cs.nextCDR(t); row.Reason != "retrieved from 701 by 10002" {
		t.Errorf("orbit row: %+v", row)
	}
	if got := callerSide(pb, sb).refer(t, "<sip:*70@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	wantNotify(t, pb, "SIP/2.0 200 Parked at 701", true)
	wait(t, pb.ended, "BYE at the parker")
	cs.nextCDR(t)
	scope("10004", "department")
	sd, err := pd.dial(t.Context(), "701")
	if err != nil {
		t.Fatalf("retrieve by 10004 (department): %v", err)
	}
	pa.sendRTP(t, pd, 5)
	pd.sendRTP(t, pa, 5)
	cs.nextCDR(t)

	// 10003 holds calls.park none: its REFER to the park code fails and
	// the call goes on.
	sc, err := pc.dial(t.Context(), "10004")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pd.incoming, "answered call")
	if got := callerSide(pc, sc).refer(t, "<sip:*70@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d", got)
	}
	wantNotify(t, pc, "SIP/2.0 100 Trying", false)
	n := wait(t, pc.notifies, "final NOTIFY")
	if body := string(n.Body()); !strings.HasPrefix(body, "SIP/2.0 403") || !strings.Contains(body, "calls.park") {
		t.Errorf("park without calls.park: NOTIFY %q", body)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Denied || !strings.Contains(row.Reason, "calls.park") {
		t.Errorf("refused park row: %+v", row)
	}
	pc.sendRTP(t, pd, 5)
	sc.Bye(t.Context())
	sess.Bye(t.Context())
	wait(t, pd.ended, "BYE at 10004")
	wait(t, pd.ended, "BYE at 10004")
	cs.nextCDR(t)
	cs.nextCDR(t)
	sd.Close()
	cs.noCallLeft(t)
}

// TestParkNotRetrieved: the parker's phone is gone; each ring-back finds
// nobody, and after the last the parked caller is hung up.
func TestParkNotRetrieved(t *testing.T) {
	cs, _, ph, _, dlgB := parkSetup(t, map[string]string{directory.SettingParkTimeout: "1"})
	pa, pb := ph["10001"], ph["10002"]
	parkCall(t, cs, pb, dlgB, "*70", "SIP/2.0 200 Parked at 701")
	wait(t, pb.ended, "BYE at the parker")
	cs.nextCDR(t)
	wantStatus(t, pb.register(0), 200)
	wait(t, pa.ended, "BYE at the parked caller")
	row := cs.nextCDR(t)
	if row.To != "701" || row.HangupBy != "system" || row.Reason != "parked at 701, not retrieved" {
		t.Errorf("parked row: %+v", row)
	}
	orbitFree(t, cs, "701")
	cs.noCallLeft(t)
}

// TestParkOrbitBusy: a REFER to an orbit in use fails with 486 and the
// call goes on; *70 then takes the next free orbit, and an INVITE to *70
// takes the call parked longest.
func TestParkOrbitBusy(t *testing.T) {
	cs, _, ph, sess, dlgB := parkSetup(t, nil)
	pa, pb, pc, pd := ph["10001"], ph["10002"], ph["10003"], ph["10004"]
	parkCall(t, cs, pb, dlgB, "701", "SIP/2.0 200 Parked at 701")
	wait(t, pb.ended, "BYE at the parker")
	cs.nextCDR(t)

	sc, err := pc.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB2 := wait(t, pb.incoming, "second call answered")
	parkCall(t, cs, pb, dlgB2, "701", "SIP/2.0 486 Busy Here (Orbit 701 In Use)")
	if row := cs.nextCDR(t); row.Disposition != directory.Busy || !strings.Contains(row.Reason, "orbit 701 in use") {
		t.Errorf("busy orbit row: %+v", row)
	}
	pc.sendRTP(t, pb, 5)
	pb.sendRTP(t, pc, 5)
	parkCall(t, cs, pb, dlgB2, "*70", "SIP/2.0 200 Parked at 702")
	wait(t, pb.ended, "BYE at the parker")
	cs.nextCDR(t)

	// *70 by INVITE: the call parked longest, 10001's on 701.
	sd, err := pd.dial(t.Context(), "*70")
	if err != nil {
		t.Fatalf("*70: %v", err)
	}
	orbitFree(t, cs, "701")
	pa.sendRTP(t, pd, 5)
	if cs.b.lot.Orbits.Slot("702") == nil {
		t.Error("702 emptied by *70")
	}
	sess.Bye(t.Context())
	wait(t, pd.ended, "BYE at 10004")
	sc.Bye(t.Context())
	orbitFree(t, cs, "702")
	for i := 0; i < 3; i++ {
		cs.nextCDR(t)
	}
	sd.Close()
	cs.noCallLeft(t)
}

// TestParkRingBack: nobody takes the parked call within park.timeout: it
// rings the parker back, whose phone answers and talks with the caller.
func TestParkRingBack(t *testing.T) {
	cs, users, ph, sess, dlgB := parkSetup(t, map[string]string{directory.SettingParkTimeout: "1"})
	pa, pb := ph["10001"], ph["10002"]
	// Phones put the other party on hold before they transfer it.
	b := calleeSide(pb, dlgB)
	if got := b.reinvite(t, pb, "sendonly", func(r *sip.Request) error { return dlgB.WriteRequest(r) }); got != 200 {
		t.Fatalf("hold: %d", got)
	}
	if hold := wait(t, pa.reinvite, "hold at the caller"); !strings.Contains(string(hold.Body()), "a=recvonly") &&
		!strings.Contains(string(hold.Body()), "a=sendonly") {
		t.Errorf("hold re-INVITE:\n%s", hold.Body())
	}
	parkCall(t, cs, pb, dlgB, "*70", "SIP/2.0 200 Parked at 701")
	wait(t, pb.ended, "BYE at the parker")
	cs.nextCDR(t)

	inv := wait(t, pb.invites, "ring-back INVITE")
	if f := inv.From(); f.Address.User != "10001" || !strings.Contains(f.DisplayName, "701") {
		t.Errorf("ring-back From %s, want 10001 named after the orbit", f.String())
	}
	wait(t, pb.incoming, "ring-back answered")
	orbitFree(t, cs, "701")
	// The caller comes off hold with the parker's phone's media.
	if resume := wait(t, pa.reinvite, "resume at the caller"); !strings.Contains(string(resume.Body()), "a=sendrecv") {
		t.Errorf("resume re-INVITE:\n%s", resume.Body())
	}
	pa.sendRTP(t, pb, 10)
	pb.sendRTP(t, pa, 10)
	if row := cs.nextCDR(t); row.To != "701" || row.Reason != "returned from 701 by 10002" {
		t.Errorf("parked row: %+v", row)
	}
	sess.Bye(t.Context())
	wait(t, pb.ended, "BYE at the parker")
	if row := cs.nextCDR(t); row.From != "10001" || row.To != "10002" || row.CalleeID != users["10002"].ID ||
		row.HangupBy != "caller" {
		t.Errorf("last row: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestParkCallerHangsUpAndLamp: a watcher's busy lamp on orbit 701 shows
// it confirmed while the call is parked; the parked caller hangs up, the
// orbit is free and the lamp shows terminated.
func TestParkCallerHangsUpAndLamp(t *testing.T) {
	cs, _, ph, sess, dlgB := parkSetup(t, nil)
	pb, pc := ph["10002"], ph["10003"]
	_, res := subscribeTo(t, pc, "701", "dialog", 600)
	wantStatus(t, res, 200)
	first := nextNotify(t, pc)
	if body := string(first.Body()); strings.Contains(body, "<dialog ") || !strings.Contains(body, "sip:701@") {
		t.Errorf("first NOTIFY of a free orbit:\n%s", body)
	}
	parkCall(t, cs, pb, dlgB, "*70", "SIP/2.0 200 Parked at 701")
	wait(t, pb.ended, "BYE at the parker")
	cs.nextCDR(t)
	busy := notifyUntil(t, pc, "<state>confirmed</state>")
	if body := string(busy.Body()); !strings.Contains(body, "sip:10001@") {
		t.Errorf("orbit lamp does not show who is parked (watcher may take any call):\n%s", body)
	}

	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	orbitFree(t, cs, "701")
	notifyUntil(t, pc, "<state>terminated</state>")
	row := cs.nextCDR(t)
	if row.From != "10001" || row.To != "701" || row.HangupBy != "caller" || row.Disposition != directory.Answered {
		t.Errorf("parked row: %+v", row)
	}
	select {
	case <-pb.invites:
		t.Error("the parker's phone rang after the parked caller hung up")
	default:
	}
	cs.noCallLeft(t)
}

// TestParkByCaller: 10001, the caller, parks 10002 on orbit 702; an offer
// from the parked party finds nobody to take it (488, the call goes on);
// 10003 takes the call and 10002 hangs up.
func TestParkByCaller(t *testing.T) {
	cs, users, ph, sess, dlgB := parkSetup(t, nil)
	pa, pb, pc := ph["10001"], ph["10002"], ph["10003"]
	if got := callerSide(pa, sess).refer(t, "<sip:702@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d", got)
	}
	wantNotify(t, pa, "SIP/2.0 100 Trying", false)
	wantNotify(t, pa, "SIP/2.0 200 Parked at 702", true)
	wait(t, pa.ended, "BYE at the parker")
	if row := cs.nextCDR(t); row.From != "10001" || row.To != "10002" || row.Reason != "parked at 702 by 10001" {
		t.Errorf("first row: %+v", row)
	}
	b := calleeSide(pb, dlgB)
	if got := b.reinvite(t, pb, "sendrecv", func(r *sip.Request) error { return dlgB.WriteRequest(r) }); got != 488 {
		t.Errorf("re-INVITE of the parked party: %d, want 488", got)
	}
	if s := cs.b.lot.Orbits.Slot("702"); s == nil || s.Parker != users["10001"].ID || s.Caller != "10002" {
		t.Fatalf("orbit 702 holds %+v", s)
	}
	sc, err := pc.dial(t.Context(), "702")
	if err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	pb.sendRTP(t, pc, 10)
	pc.sendRTP(t, pb, 10)
	if row := cs.nextCDR(t); row.From != "10002" || row.To != "702" || row.Reason != "retrieved from 702 by 10003" {
		t.Errorf("parked row: %+v", row)
	}
	if err := dlgB.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pc.ended, "BYE at the retriever")
	if row := cs.nextCDR(t); row.From != "10002" || row.To != "10003" || row.HangupBy != "caller" ||
		row.CallerID != users["10002"].ID || row.CalleeID != users["10003"].ID {
		t.Errorf("last row: %+v", row)
	}
	sc.Close()
	cs.noCallLeft(t)
}

// TestParkOrbitsFollowSetting: a change of park.orbits reaches a running
// server through the change log; with none, *70 parks nowhere.
func TestParkOrbitsFollowSetting(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{}, func(c *Config) { c.FollowInterval = 20 * time.Millisecond })
	pa, pb := newCallPhone(t, cs, "10001", answerOK), newCallPhone(t, cs, "10002", answerOK)
	follow := func(v string, isOrbit, notOrbit string) {
		t.Helper()
		if err := st.SetSetting(t.Context(), directory.SettingParkOrbits, v); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1000; i++ {
			if (isOrbit == "" || cs.b.lot.Orbits.IsOrbit(isOrbit)) && !cs.b.lot.Orbits.IsOrbit(notOrbit) {
				return
			}
			time.Sleep(10 * time.Millisecond) // polling: the follower leaves no event behind
		}
		t.Fatalf("park.orbits %q not followed", v)
	}
	follow("800-801", "800", "701")
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, pb.incoming, "answered call")
	follow("none", "", "800")
	parkCall(t, cs, pb, dlgB, "*70", "SIP/2.0 404 Not Found (No Park Orbits)")
	cs.nextCDR(t)
	follow("800-801", "800", "701")
	parkCall(t, cs, pb, dlgB, "*70", "SIP/2.0 200 Parked at 800")
	wait(t, pb.ended, "BYE at the parker")
	cs.nextCDR(t)
	sess.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
