package spool

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/smalldisk"
)

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openSpool(t *testing.T, path string, st directory.KeyedStore) *Spool {
	t.Helper()
	sp, err := Open(path, st, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// The writes of a recorded call and of a refused one, made while the store
// is closed, survive a restart of the spool and reach the store once, in
// order, also when the replay is repeated (a crash before the writes were
// marked done) and when the file's last line was cut by a crash.
func TestHeldWritesSurviveRestartAndReplayOnce(t *testing.T) {
	dir := t.TempDir()
	db, file := filepath.Join(dir, "switchboard.db"), filepath.Join(dir, "spool", "history.spool")
	st := openStore(t, db)
	sp := openSpool(t, file, st)

	answered := directory.Call{Key: "k1", SIPCallID: "a@x", From: "10001", To: "10002", Dialed: "10002",
		Direction: directory.Internal, StartedAt: t0, AnsweredAt: t0.Add(3 * time.Second),
		Disposition: directory.Answered, Node: "n1"}
	refusedCall := directory.Call{Key: "k2", SIPCallID: "b@x", From: "10001", To: "+48221234567",
		Direction: directory.Outbound, StartedAt: t0.Add(time.Second), EndedAt: t0.Add(time.Second),
		Disposition: directory.Denied, Reason: "calls.outbound", HangupBy: "system", Node: "n1"}
	rec := directory.Recording{Path: "/rec/a.wav", State: directory.RecordingActive}

	// The store goes away before the call is answered.
	st.Close()
	ctx := t.Context()
	c := answered
	for _, err := range []error{
		sp.SaveCall(ctx, &c),
		sp.SaveRecording(ctx, "k1", &rec),
		sp.SaveCall(ctx, &refusedCall),
	} {
		if err != nil {
			t.Fatalf("held write: %v", err)
		}
	}
	ended := answered
	ended.EndedAt, ended.HangupBy = t0.Add(time.Minute), "caller"
	done := directory.Recording{Path: rec.Path, Size: 1000, Duration: 57 * time.Second, SHA256: "ab",
		State: directory.RecordingDone}
	if err := sp.SaveRecording(ctx, "k1", &done); err != nil {
		t.Fatal(err)
	}
	if err := sp.SaveCall(ctx, &ended); err != nil {
		t.Fatal(err)
	}
	if got := sp.Held(); got != 5 {
		t.Fatalf("%d writes held, want 5", got)
	}
	if sp.Flush(ctx) {
		t.Fatal("flush reported success with the store closed")
	}

	// Restart: the process goes, the file stays; a crash cut the last line.
	sp.Close()
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":6,"call":{"Key":"k9"`)
	f.Close()
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	st = openStore(t, db)
	sp = openSpool(t, file, st)
	if got := sp.Held(); got != 5 {
		t.Fatalf("after restart %d writes held, want 5", got)
	}
	// A write held after the restart goes behind the others, and the cut
	// line does not swallow it.
	late := directory.Call{Key: "k3", SIPCallID: "c@x", From: "10002", To: "10001", Direction: directory.Internal,
		StartedAt: t0.Add(2 * time.Minute), EndedAt: t0.Add(2 * time.Minute), Disposition: directory.Busy, Node: "n1"}
	st.Close()
	if err := sp.SaveCall(ctx, &late); err != nil || sp.Held() != 6 {
		t.Fatalf("held after restart: %v, %d held", err, sp.Held())
	}
	sp.Close()
	st = openStore(t, db)
	sp = openSpool(t, file, st)
	if !sp.Flush(ctx) || sp.Held() != 0 {
		t.Fatalf("flush left %d writes", sp.Held())
	}
	check(t, st, ended, refusedCall, done, late)

	// A crash before the writes were marked done: the same file again.
	sp.Close()
	if err := os.WriteFile(file, saved, 0o640); err != nil {
		t.Fatal(err)
	}
	sp = openSpool(t, file, st)
	if !sp.Flush(ctx) {
		t.Fatal("second replay failed")
	}
	check(t, st, ended, refusedCall, done, late)

	// All written: the next start finds nothing held.
	sp.Close()
	sp = openSpool(t, file, st)
	if got := sp.Held(); got != 0 {
		t.Errorf("after a full replay the next start holds %d writes", got)
	}
}

// check compares the store's rows with the calls and recording wanted.
func check(t *testing.T, st directory.Store, answered, refusedCall directory.Call, rec directory.Recording,
	more ...directory.Call) {
	t.Helper()
	ctx := t.Context()
	calls, err := st.Calls(ctx, directory.CallFilter{Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]directory.Call{answered, refusedCall}, more...)
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d: %+v", len(calls), len(want), calls)
	}
	byKey := map[string]directory.Call{}
	for _, c := range calls {
		byKey[c.SIPCallID] = c
	}
	for _, want := range want {
		got := byKey[want.SIPCallID]
		if got.Disposition != want.Disposition || !got.StartedAt.Equal(want.StartedAt) ||
			!got.AnsweredAt.Equal(want.AnsweredAt) || !got.EndedAt.Equal(want.EndedAt) || got.HangupBy != want.HangupBy {
			t.Errorf("call %s:\n got %+v\nwant %+v", want.SIPCallID, got, want)
		}
	}
	recs, err := st.Recordings(ctx, directory.RecordingFilter{Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].State != rec.State || recs[0].Size != rec.Size || recs[0].Duration != rec.Duration ||
		recs[0].CallID != byKey[answered.SIPCallID].ID {
		t.Errorf("recordings %+v, want one like %+v of call %d", recs, rec, byKey[answered.SIPCallID].ID)
	}
}

// A write the store refuses is not held: holding would not change it.
func TestRefusedWriteIsNotHeld(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "switchboard.db"))
	sp := openSpool(t, "", st)
	err := sp.SaveRecording(t.Context(), "unknown", &directory.Recording{Path: "/x.wav"})
	if err == nil || sp.Held() != 0 {
		t.Errorf("recording of an unknown call: %v, %d held", err, sp.Held())
	}
}

// Writes held while the spool's own disk is full are kept in memory, and
// reach the file once there is room again, so that a restart then loses
// none.
func TestFullSpoolDiskKeepsWritesAndRewritesFile(t *testing.T) {
	dir, ok := smalldisk.Dir(t, "256k")
	if !ok {
		return
	}
	db := filepath.Join(t.TempDir(), "switchboard.db")
	st := openStore(t, db)
	file := filepath.Join(dir, "history.spool")
	sp := openSpool(t, file, st)
	st.Close()
	filler := filepath.Join(dir, "filler")
	smalldisk.Fill(t, filler)
	for i := range 20 {
		c := directory.Call{Key: "k" + strconv.Itoa(i), SIPCallID: strconv.Itoa(i) + "@x", Direction: directory.Internal,
			StartedAt: t0, EndedAt: t0, Disposition: directory.Busy}
		if err := sp.SaveCall(t.Context(), &c); err != nil {
			t.Fatal(err)
		}
	}
	if n := sp.Held(); n != 20 {
		t.Fatalf("%d held on a full disk, want 20", n)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if sp.Flush(t.Context()) {
		t.Fatal("flush reported success with the store closed")
	}
	sp.Close()
	st = openStore(t, db)
	sp = openSpool(t, file, st)
	if n := sp.Held(); n != 20 {
		t.Fatalf("after a restart %d held, want 20", n)
	}
	if !sp.Flush(t.Context()) {
		t.Fatal("flush failed")
	}
	if n, err := st.CountCalls(t.Context(), directory.CallFilter{Vis: directory.Visibility{All: true}}); err != nil || n != 20 {
		t.Errorf("%d calls stored (%v), want 20", n, err)
	}
}
