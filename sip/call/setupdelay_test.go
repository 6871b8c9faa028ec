package call

import (
	"testing"
	"time"
)

// A Delay's buckets count up to each bound, as Prometheus' do: a duration
// on a bound is in that bucket, one past the last bound only in Count.
func TestDelayBuckets(t *testing.T) {
	var h Delay
	for _, d := range []time.Duration{-time.Second, 0, 500 * time.Microsecond, 501 * time.Microsecond, 20 * time.Millisecond, time.Minute} {
		h.Observe(d)
	}
	s := h.Snapshot()
	if s.Count != 6 {
		t.Fatalf("count %d, want 6", s.Count)
	}
	if want := 500*time.Microsecond + 501*time.Microsecond + 20*time.Millisecond + time.Minute; s.Sum != want {
		t.Errorf("sum %v, want %v (a negative duration counts as zero)", s.Sum, want)
	}
	want := map[time.Duration]uint64{500 * time.Microsecond: 3, time.Millisecond: 4, 10 * time.Millisecond: 4,
		20 * time.Millisecond: 5, 5 * time.Second: 5}
	for i, b := range DelayBounds {
		if n, ok := want[b]; ok && s.Cumulative[i] != n {
			t.Errorf("up to %v: %d, want %d", b, s.Cumulative[i], n)
		}
	}
}
