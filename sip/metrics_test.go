package sip

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestMetricsCountCalls checks that every finished attempt is counted by
// direction and disposition, and that the gauges come back to rest.
func TestMetricsCountCalls(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	newCallPhone(t, cs, "10003", answerBusy)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	if m := cs.Metrics(); m.ActiveCalls != 1 || m.RTPPortsFree != m.RTPPortsTotal-2 {
		t.Errorf("during the call: %d active, %d of %d port pairs free", m.ActiveCalls, m.RTPPortsFree, m.RTPPortsTotal)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	cs.nextCDR(t)
	if _, err := pa.dial(t.Context(), "10003"); err == nil {
		t.Fatal("a busy extension answered")
	}
	cs.nextCDR(t)
	cs.noCallLeft(t)

	m := cs.Metrics()
	answered := CallOutcome{Direction: directory.Internal, Disposition: directory.Answered}
	busy := CallOutcome{Direction: directory.Internal, Disposition: directory.Busy}
	if m.Calls[answered] != 1 || m.Calls[busy] != 1 || len(m.Calls) != 2 {
		t.Errorf("calls %v, want one answered and one busy", m.Calls)
	}
	if m.Requests["INVITE"] < 4 || m.Requests["BYE"] != 1 || m.Requests["REGISTER"] < 3 {
		t.Errorf("requests %v", m.Requests)
	}
	if m.Bindings != 3 || m.Extensions != 3 || m.ActiveCalls != 0 || m.RTPPortsFree != m.RTPPortsTotal {
		t.Errorf("gauges after the calls: %+v", m)
	}
}
