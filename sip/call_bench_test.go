package sip

import (
	"testing"
	"time"
)

// BenchmarkCallSetup measures call setup and teardown through the B2BUA
// with a relay per call: INVITE (407, INVITE again), 180, 200, ACK, BYE on
// both legs and the CDR row, phones and PBX in one process on loopback.
func BenchmarkCallSetup(b *testing.B) {
	st, _ := openSQLite(b)
	addUser(b, st, "10001")
	addUser(b, st, "10002")
	// No port quarantine: thousands of calls a second would empty the pool.
	cs := startCallServer(b, st, CallConfig{MaxCallsPerExt: 10000, RTPQuarantine: -1})
	pa := newCallPhone(b, cs, "10001", answerOK)
	pb := newCallPhone(b, cs, "10002", answerOK)
	for _, ch := range []chan struct{}{pa.ended, pb.ended} {
		go func() {
			for range ch {
			}
		}()
	}
	go func() {
		for range pb.incoming {
		}
	}()
	go func() {
		for range pb.invites {
		}
	}()
	cs.b.hooks.ended = nil
	b.ReportAllocs()
	start := time.Now()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sess, err := pa.dial(b.Context(), "10002")
			if err != nil {
				b.Error(err)
				return
			}
			if err := sess.Bye(b.Context()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}
