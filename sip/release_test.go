package sip

import (
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestEndedCallReleased: once a call is over nothing keeps it. sipgo keeps
// an answered INVITE's transaction, with its hooks, for Timer L (32 s)
// after the 2xx; a hook that held the call kept every call ended in the
// last 32 s in memory, some 40 KB each for the garbage collector to mark
// again at each cycle (6,400 calls at 200 a second).
func TestEndedCallReleased(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	c := cs.b.Lookup(sess.InviteRequest.CallID().Value())
	if c == nil {
		t.Fatal("answered call not in the call table")
	}
	wc := weak.Make(c)
	c = nil
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("caller bye: %v", err)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
	// Polled: the goroutine that handled the caller's BYE (sipgo's, not
	// the call's) may still be on its way out, the call on its stack. A
	// hook's hold lasts Timer L, 32 s.
	for range 200 {
		runtime.GC()
		if wc.Value() == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the ended call is still held (by a hook of sipgo's INVITE transaction?)")
}
