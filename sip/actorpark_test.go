package sip

import (
	"bytes"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A held call keeps no goroutine: once the call is answered and its 200
// acknowledged, its actor parks, while the relay goes on relaying. The
// next event starts the actor again: a re-INVITE (answered, and the actor
// parks again), then the caller's BYE.
func TestHeldCallParksItsActor(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	in := wait(t, pb.incoming, "answered call")
	waitParked(t)
	pb.sendRTP(t, pa, 5) // the relay needs no goroutine of the call's
	if n := cs.b.Active(); n != 1 {
		t.Fatalf("%d calls active while held, want 1", n)
	}

	if got := calleeSide(pb, in).reinvite(t, pb, "sendonly", func(r *sip.Request) error { return in.WriteRequest(r) }); got != 200 {
		t.Fatalf("re-INVITE of a parked call: %d, want 200", got)
	}
	waitParked(t)

	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye to a parked call: %v", err)
	}
	if row := cs.nextCDR(t); row.HangupBy != "caller" {
		t.Errorf("hung up by %q, want caller", row.HangupBy)
	}
	cs.noCallLeft(t)
}

// A parked call still ends when the server stops: the shutdown starts its
// actor, which hangs up both legs and writes the call's row.
func TestParkedCallEndsAtShutdown(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	if _, err := pa.dial(t.Context(), "10002"); err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	waitParked(t)
	cs.stop()
	row := cs.nextCDR(t)
	if row.HangupBy != "system" || row.Reason != "shutdown" {
		t.Errorf("ended by %q for %q, want system for shutdown", row.HangupBy, row.Reason)
	}
	wait(t, pa.ended, "BYE to the caller")
	wait(t, pb.ended, "BYE to the callee")
}

// waitParked waits until no goroutine runs code of package call (the
// relay's poller and timers, shared by every call, go on).
func waitParked(t *testing.T) {
	t.Helper()
	var left []string
	for range 500 {
		if left = actorGoroutines(); len(left) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond) // polling: a park leaves no event behind
	}
	t.Fatalf("a call's goroutines while it is held:\n%s", strings.Join(left, "\n\n"))
}

// actorGoroutines returns the stacks of the goroutines running code of
// package call.
func actorGoroutines() []string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, "github.com/switchboard-pbx/switchboard/sip/call.") {
			out = append(out, g)
		}
	}
	return out
}
