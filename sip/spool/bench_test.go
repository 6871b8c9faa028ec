package spool

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
)

// BenchmarkHold measures holding one call history write while the store is
// away: a JSON line appended and fsynced.
func BenchmarkHold(b *testing.B) {
	dir := b.TempDir()
	st, err := sqlite.Open(b.Context(), filepath.Join(dir, "switchboard.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	sp, err := Open(filepath.Join(dir, "history.spool"), st, time.Second, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	st.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		c := directory.Call{Key: strconv.Itoa(i), SIPCallID: strconv.Itoa(i) + "@bench", From: "10001", To: "10002",
			Direction: directory.Internal, StartedAt: t0, EndedAt: t0, Disposition: directory.Busy}
		if err := sp.SaveCall(b.Context(), &c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "writes/s")
}
