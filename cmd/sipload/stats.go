package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"
)

// stats gathers the outcome of every attempt: latency of the successes and
// the count of each failure.
type stats struct {
	mu        sync.Mutex
	latencies []time.Duration
	failures  map[string]int
	ok        int
	// latencyName labels the latency line; default "latency".
	latencyName string
}

func newStats(capacity int) *stats {
	return &stats{latencies: make([]time.Duration, 0, capacity), failures: map[string]int{}}
}

func (s *stats) success(d time.Duration) {
	s.mu.Lock()
	s.ok++
	s.latencies = append(s.latencies, d)
	s.mu.Unlock()
}

func (s *stats) failure(what string) {
	s.mu.Lock()
	s.failures[what]++
	s.mu.Unlock()
}

// percentile returns the p-th percentile (0..100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func (s *stats) report(w io.Writer, what string, elapsed time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat := slices.Clone(s.latencies)
	slices.Sort(lat)
	failed := 0
	for _, n := range s.failures {
		failed += n
	}
	fmt.Fprintf(w, "%s: %d ok, %d failed in %.2fs: %.0f/s\n", what, s.ok, failed, elapsed.Seconds(),
		float64(s.ok)/elapsed.Seconds())
	name := s.latencyName
	if name == "" {
		name = "latency"
	}
	fmt.Fprintf(w, "%s p50 %s  p95 %s  p99 %s  max %s\n", name, round(percentile(lat, 50)), round(percentile(lat, 95)),
		round(percentile(lat, 99)), round(percentile(lat, 100)))
	keys := make([]string, 0, len(s.failures))
	for k := range s.failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "failures %s: %d\n", k, s.failures[k])
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// pace calls send(i) for i = 0, 1, … at rate per second, until duration
// has passed since it started, max calls were made, ctx ends or send
// reports false. It returns when it started and how long it sent for.
func pace(ctx context.Context, rate float64, duration time.Duration, max int, send func(i int) bool) (start time.Time, window time.Duration) {
	start = time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	deadline := start.Add(duration)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; i < max; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(deadline) {
			break
		}
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return start, window
			}
		}
		if !send(i) {
			break
		}
		window = time.Since(start)
	}
	return start, window
}
