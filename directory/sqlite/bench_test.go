package sqlite

import (
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchCall is the i-th call of a synthetic history: 200 users calling each
// other and outside numbers, one call a minute going back in time.
func benchCall(i int, start time.Time) *directory.Call {
	started := start.Add(-time.Duration(i) * time.Minute)
	c := &directory.Call{
		SIPCallID:   fmt.Sprintf("call-%d@bench", i),
		CallerID:    int64(i%200 + 1),
		CalleeID:    int64((i*7)%200 + 1),
		From:        fmt.Sprintf("%d", 10000+i%200),
		To:          fmt.Sprintf("%d", 10000+(i*7)%200),
		Dialed:      fmt.Sprintf("%d", 10000+(i*7)%200),
		Direction:   directory.Internal,
		StartedAt:   started,
		AnsweredAt:  started.Add(5 * time.Second),
		EndedAt:     started.Add(95 * time.Second),
		Disposition: directory.Answered,
		HangupBy:    "caller",
		Node:        "bench",
	}
	if i%5 == 0 { // an outbound call
		c.CalleeID, c.To, c.Dialed, c.Direction = 0, "+48221234567", "0221234567", directory.Outbound
	}
	return c
}

// fillCalls writes n calls in one transaction.
func fillCalls(b *testing.B, s *Store, n int) {
	b.Helper()
	start := time.Now().UTC().Truncate(time.Microsecond)
	err := s.write(b.Context(), func(tx *sql.Tx) error {
		for i := range n {
			var id int64
			if err := insertCall(b.Context(), tx, benchCall(i, start)).Scan(&id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("fill %d calls: %v", n, err)
	}
}

func BenchmarkCreateCall(b *testing.B) {
	s := benchStore(b)
	start := time.Now().UTC()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.CreateCall(b.Context(), benchCall(i, start)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkCalls lists the newest 50 of 100,000 calls at each scope.
func BenchmarkCalls(b *testing.B) {
	s := benchStore(b)
	fillCalls(b, s, 100_000)
	dept := []int64{3, 17, 42, 58, 77, 101, 123, 150, 177, 199} // 10 of 200 users
	for _, bc := range []struct {
		name string
		f    directory.CallFilter
	}{
		{"any", directory.CallFilter{Vis: directory.Visibility{All: true}}},
		{"department", directory.CallFilter{Vis: directory.Visibility{UserIDs: dept}}},
		{"department/page100", directory.CallFilter{Vis: directory.Visibility{UserIDs: dept},
			Page: directory.Page{Number: 100}}},
		{"own", directory.CallFilter{Vis: directory.Visibility{UserIDs: []int64{42}}}},
		{"department/number", directory.CallFilter{Vis: directory.Visibility{UserIDs: dept}, Number: "+4822"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cs, err := s.Calls(b.Context(), bc.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(cs) != 50 {
					b.Fatalf("%d calls, want 50", len(cs))
				}
			}
		})
	}
	b.Run("department/count", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.CountCalls(b.Context(), directory.CallFilter{Vis: directory.Visibility{UserIDs: dept}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSaveCall writes call rows by key as a call's end does (one
// transaction each), each call written at answer and again at its end.
func BenchmarkSaveCall(b *testing.B) {
	s := benchStore(b)
	start := time.Now()
	b.ReportAllocs()
	for i := range b.N {
		c := benchCall(i/2, start)
		c.Key = fmt.Sprintf("k-%d", i/2)
		c.CallerID, c.CalleeID = 0, 0 // no users in this store
		if i%2 == 0 {
			c.EndedAt, c.HangupBy = time.Time{}, ""
		}
		if err := s.SaveCall(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveCalls writes the rows of BenchmarkSaveCall in batches of 16
// (one transaction each), as the spool does when calls end together; ns/op
// is per row.
func BenchmarkSaveCalls(b *testing.B) {
	s := benchStore(b)
	start := time.Now()
	const batch = 16
	b.ReportAllocs()
	cs := make([]*directory.Call, 0, batch)
	for i := range b.N {
		c := benchCall(i/2, start)
		c.Key = fmt.Sprintf("k-%d", i/2)
		c.CallerID, c.CalleeID = 0, 0 // no users in this store
		if i%2 == 0 {
			c.EndedAt, c.HangupBy = time.Time{}, ""
		}
		cs = append(cs, c)
		if len(cs) == batch || i == b.N-1 {
			if err := s.SaveCalls(b.Context(), cs); err != nil {
				b.Fatal(err)
			}
			cs = cs[:0]
		}
	}
}
