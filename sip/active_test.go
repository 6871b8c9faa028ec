package sip

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestActiveCalls(t *testing.T) {
	st, _ := openSQLite(t)
	a, b := addUser(t, st, "10001"), addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	if got := cs.ActiveCalls(); len(got) != 0 {
		t.Fatalf("ActiveCalls() before any call = %+v", got)
	}
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	pb.sendRTP(t, pa, 5)
	got := cs.ActiveCalls()
	if len(got) != 1 || got[0].CallerID != a.ID || got[0].CalleeID != b.ID || got[0].From != "10001" ||
		got[0].To != "10002" || got[0].Direction != string(directory.Internal) || got[0].State != "talking" ||
		got[0].StartedAt.IsZero() || got[0].CallID == "" {
		t.Errorf("ActiveCalls() during the call = %+v", got)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	cs.nextCDR(t)
	cs.noCallLeft(t)
	if got := cs.ActiveCalls(); len(got) != 0 {
		t.Errorf("ActiveCalls() after the call = %+v", got)
	}
}
