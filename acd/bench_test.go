package acd_test

import (
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/acd"
)

// BenchmarkAgentFreeToOffer: 200 callers waiting in 10 queues with 100
// agents (10 per queue, each also a member of the next queue), every
// agent on a call. One op: an agent's call ends and the engine offers
// them the next caller (the part measured as ns/offer); then the agent
// answers and a new caller joins, so 200 keep waiting. The target is an
// offer within 100 ms.
func BenchmarkAgentFreeToOffer(b *testing.B) {
	for _, s := range []acd.Strategy{acd.RingAll, acd.LongestIdle, acd.RoundRobin, acd.FewestCalls} {
		b.Run(s.String(), func(b *testing.B) { benchFreeToOffer(b, s) })
	}
}

func benchFreeToOffer(b *testing.B, s acd.Strategy) {
	clk := &clock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	e := acd.New(clk)
	const queues, agents, callers = 10, 100, 200
	qid := func(i int) string { return "q" + itoa(i%queues) }
	for q := range queues {
		var members []string
		for a := range agents {
			if a%queues == q || (a+1)%queues == q {
				members = append(members, "a"+itoa(a))
			}
		}
		if _, err := e.SetQueue(acd.Queue{ID: qid(q), Strategy: s, Members: members}); err != nil {
			b.Fatal(err)
		}
	}
	next := 0
	enqueue := func() []acd.Event {
		evs, err := e.Enqueue(qid(next), "c"+itoa(next))
		if err != nil {
			b.Fatal(err)
		}
		next++
		return evs
	}
	// Every agent takes a call, then 200 callers wait.
	onCall := make([]string, 0, agents)
	for a := range agents {
		e.Login("a" + itoa(a))
	}
	for len(onCall) < agents {
		for _, ev := range enqueue() {
			if ev.Kind == acd.EventOffer {
				if _, err := e.AgentAnswered(ev.Agent, ev.Caller); err != nil {
					b.Fatal(err)
				}
				onCall = append(onCall, ev.Agent)
				break // ring all: the others were cancelled by the answer
			}
		}
	}
	for range callers {
		enqueue()
	}
	if st, _ := e.Stats("q0"); st.Waiting != callers/queues {
		b.Fatalf("q0 has %d waiting, want %d", st.Waiting, callers/queues)
	}
	var offerTime time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		a := onCall[i%agents]
		i++
		clk.Advance(time.Second)
		t0 := time.Now()
		evs, err := e.CallEnded(a)
		offerTime += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		var caller string
		for _, ev := range evs {
			if ev.Kind == acd.EventOffer && ev.Agent == a {
				caller = ev.Caller
			}
		}
		if caller == "" {
			b.Fatalf("agent %s freed, no offer: %v", a, evs)
		}
		if _, err := e.AgentAnswered(a, caller); err != nil {
			b.Fatal(err)
		}
		enqueue()
	}
	b.ReportMetric(float64(offerTime.Nanoseconds())/float64(i), "ns/offer")
}
