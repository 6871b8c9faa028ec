package sip

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// legLog collects the leg events the server raises.
type legLog struct {
	mu     sync.Mutex
	events []LegEvent
}

func observeLegs(cs *callServer) *legLog {
	l := &legLog{}
	cs.ObserveLegs(func(e LegEvent) {
		l.mu.Lock()
		l.events = append(l.events, e)
		l.mu.Unlock()
	})
	return l
}

// of returns the events of extension ext, in order.
func (l *legLog) of(ext string) []LegEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LegEvent
	for _, e := range l.events {
		if e.Ext == ext {
			out = append(out, e)
		}
	}
	return out
}

// states renders events as "state(peer)" words.
func states(evs []LegEvent) string {
	var w []string
	for _, e := range evs {
		w = append(w, fmt.Sprintf("%s(%s)", e.State, e.Peer))
	}
	return strings.Join(w, " ")
}

// waitLegs polls until ext's events read want (the last event of a call
// is raised by the call's goroutine as it ends, after the phones saw it).
func (l *legLog) waitLegs(t *testing.T, ext, want string) []LegEvent {
	t.Helper()
	var got []LegEvent
	for i := 0; i < 500; i++ {
		if got = l.of(ext); states(got) == want {
			return got
		}
		time.Sleep(10 * time.Millisecond) // polling: the observer keeps no channel
	}
	t.Fatalf("leg events of %s: %q, want %q", ext, states(got), want)
	return nil
}

// endedOnce checks that every leg that raised an event ended exactly once,
// as the last of its events.
func (l *legLog) endedOnce(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	last := map[string]LegState{}
	ends := map[string]int{}
	for _, e := range l.events {
		if last[e.LegID] == LegEnded {
			t.Errorf("leg %s of %s: %s after it ended", e.LegID, e.Ext, e.State)
		}
		last[e.LegID] = e.State
		if e.State == LegEnded {
			ends[e.LegID]++
		}
	}
	for id, st := range last {
		if st != LegEnded || ends[id] != 1 {
			t.Errorf("leg %s: last state %s, ended %d times", id, st, ends[id])
		}
	}
}

// TestLegEventsCall: A calls B, B answers, A hangs up: each extension's
// leg rings, is answered and ends, with the other party as its peer.
func TestLegEventsCall(t *testing.T) {
	st, _ := openSQLite(t)
	a, b := addUser(t, st, "10001"), addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	legs := observeLegs(cs)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlg := wait(t, pb.incoming, "answered call")
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "bye at callee")
	row := cs.nextCDR(t)
	ea := legs.waitLegs(t, "10001", "ringing(10002) answered(10002) ended(10002)")
	eb := legs.waitLegs(t, "10002", "ringing(10001) answered(10001) ended(10001)")
	for _, e := range ea {
		if e.CallID != row.SIPCallID || e.LegID != sess.InviteRequest.CallID().Value() || e.UserID != a.ID ||
			!e.Initiator {
			t.Errorf("caller's event: %+v", e)
		}
	}
	for _, e := range eb {
		if e.CallID != row.SIPCallID || e.LegID != dlg.InviteRequest.CallID().Value() || e.UserID != b.ID ||
			e.Initiator || e.PeerName != "User 10001" && e.PeerName != "" {
			t.Errorf("callee's event: %+v", e)
		}
	}
	legs.endedOnce(t)
	cs.noCallLeft(t)
}

// TestLegEventsForwardAndTransfer: a phone forwarded away from and a
// transferor each end their leg while the call goes on without them.
func TestLegEventsForwardAndTransfer(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b := addUser(t, st, "10002")
	addUser(t, st, "10003")
	addUser(t, st, "10004")
	cs := startCallServer(t, st, CallConfig{})
	legs := observeLegs(cs)
	pa := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerBusy)
	pc := newCallPhone(t, cs, "10003", answerOK)
	pd := newCallPhone(t, cs, "10004", answerOK)
	setForward(t, cs, b.ID, directory.UserPatch{ForwardBusy: sp("10003")})

	// A calls B, busy and forwarded to C; C transfers A to D.
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgC := wait(t, pc.incoming, "answer at the forward target")
	legs.waitLegs(t, "10002", "ringing(10001) ended(10001)")
	if got := calleeSide(pc, dlgC).refer(t, "<sip:10004@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wait(t, pd.incoming, "answer by the transfer target")
	wait(t, pc.ended, "BYE at the transferor")
	legs.waitLegs(t, "10003", "ringing(10001) answered(10001) ended(10001)")
	legs.waitLegs(t, "10004", "ringing(10003) answered(10001)")
	if got := states(legs.of("10001")); !strings.HasSuffix(got, "answered(10003) answered(10004)") {
		t.Errorf("the transferee's events %q do not end with its new peer", got)
	}
	cs.nextCDR(t) // the forwarded call's row, ended by the transfer
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pd.ended, "BYE at the target")
	cs.nextCDR(t)
	legs.waitLegs(t, "10004", "ringing(10003) answered(10001) ended(10001)")
	legs.endedOnce(t)
	cs.noCallLeft(t)
}

// TestLegEventsMonitor: a supervisor listening to a call is in a call too:
// answered while monitoring, ended when the monitored call ends.
func TestLegEventsMonitor(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	sup := addUser(t, st, "10003")
	makeAdmin(t, st, sup)
	cs := startCallServer(t, st, CallConfig{})
	legs := observeLegs(cs)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	ps := newCallPhone(t, cs, "10003", answerOK)

	call, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatal(err)
	}
	wait(t, pb.incoming, "answered call")
	mon, err := ps.dial(t.Context(), "*3110001")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	got := legs.waitLegs(t, "10003", "answered(10001)")
	if e := got[0]; e.UserID != sup.ID || e.LegID != mon.InviteRequest.CallID().Value() ||
		e.CallID != call.InviteRequest.CallID().Value() {
		t.Errorf("supervisor's event: %+v", e)
	}
	if err := call.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, ps.ended, "bye at the supervisor")
	cs.nextCDR(t)
	legs.waitLegs(t, "10003", "answered(10001) ended(10001)")
	legs.endedOnce(t)
	cs.noCallLeft(t)
	waitNoMonitors(t, cs)
}
