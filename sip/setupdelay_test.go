package sip

import (
	"testing"
	"time"
)

// The PBX's own share of a call's setup is measured inside what the phones
// see of it: the route delay falls between the caller's first INVITE going
// out and the callee's INVITE coming in; the answer delay between the
// callee's 2xx going out and the caller's dial returning, and leaves out
// the ringing before it.
func TestSetupDelayIsThePBXsShare(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerWhenTold)
	if m := cs.Metrics(); m.SetupRoute.Count != 0 || m.SetupAnswer.Count != 0 {
		t.Fatalf("setup delays before any call: %+v %+v", m.SetupRoute, m.SetupAnswer)
	}

	dialed := time.Now()
	type result struct {
		at  time.Time
		err error
	}
	done := make(chan result, 1)
	go func() {
		sess, err := pa.dial(t.Context(), "10002")
		done <- result{time.Now(), err}
		if err == nil {
			sess.Bye(t.Context())
		}
	}()
	wait(t, pb.invites, "INVITE to the callee")
	invited := time.Now()
	time.Sleep(100 * time.Millisecond) // ringing, which neither delay counts
	told := time.Now()
	pb.answerNow <- struct{}{}
	r := wait(t, done, "caller's dial")
	if r.err != nil {
		t.Fatalf("dial: %v", r.err)
	}
	cs.nextCDR(t)

	m := cs.Metrics()
	if m.SetupRoute.Count != 1 || m.SetupAnswer.Count != 1 {
		t.Fatalf("counted %d routes and %d answers, want 1 each", m.SetupRoute.Count, m.SetupAnswer.Count)
	}
	if d, seen := m.SetupRoute.Sum, invited.Sub(dialed); d <= 0 || d > seen {
		t.Errorf("route delay %v, want more than 0 and at most the %v between dialling and the callee's INVITE", d, seen)
	}
	if d, seen := m.SetupAnswer.Sum, r.at.Sub(told); d <= 0 || d > seen {
		t.Errorf("answer delay %v, want more than 0 and at most the %v between the callee's answer and the caller's dial returning", d, seen)
	}
	for _, h := range []DelaySnapshot{m.SetupRoute, m.SetupAnswer} {
		if h.Cumulative[len(h.Cumulative)-1] != 1 {
			t.Errorf("buckets %v: the call is not in the last one", h.Cumulative)
		}
	}
}
