package sip

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/smalldisk"
	"github.com/switchboard-pbx/switchboard/sip/record"
)

// Call history and recording rows written while the database is
// away reach it once it is back, each once, with the times, dispositions
// and recording state of what happened.

func TestHistoryThroughPostgresStopped(t *testing.T) {
	pg := pgtest.Private(t)
	historyThroughOutage(t, openPostgresURL(t, pg.URL), pg.Stop, pg.Start)
}

func TestHistoryThroughPostgresFrozen(t *testing.T) {
	pg := pgtest.Private(t)
	historyThroughOutage(t, openPostgresURL(t, pg.URL), pg.Freeze, pg.Thaw)
}

func TestHistoryThroughFullDisk(t *testing.T) {
	dir, ok := smalldisk.Dir(t, "16m")
	if !ok {
		return
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "switchboard.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	filler := filepath.Join(dir, "filler")
	historyThroughOutage(t, st, func() { smalldisk.Fill(t, filler) }, func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	})
}

func openPostgresURL(t *testing.T, url string) directory.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// historyThroughOutage makes, with the store taken away by down and given
// back by up: a recorded call answered before that ends during it, a call
// that starts and ends during it, and two that are refused (busy, not
// registered). After up, the store holds exactly those rows.
func historyThroughOutage(t *testing.T, st directory.Store, down, up func()) {
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	addUser(t, st, "10003") // busy
	addUser(t, st, "10004") // never registers
	setSetting(t, st, directory.SettingRecording, "all")
	recDir := t.TempDir()
	cs := &callServer{cdr: make(chan directory.Call, 100), st: st}
	recs := make(chan directory.Recording, 100)
	cs.testServer = startServerHooked(t, st, nil, func(s *Server) {
		cs.b = s.calls
		cs.b.Hooks.Ended = func(c directory.Call) { cs.cdr <- c }
		cs.b.Hooks.Recording = func(r directory.Recording) { recs <- r }
	}, func(c *Config) {
		c.Calls = CallConfig{RTPLow: 46000, RTPHigh: 46999, MediaIP: netip.MustParseAddr("127.0.0.1"),
			MediaTimeout: time.Minute}
		c.RecordingsDir = recDir
		c.SpoolPath = filepath.Join(t.TempDir(), "history.spool")
	})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	newCallPhone(t, cs, "10003", answerBusy)
	ctx := t.Context()

	// A recorded call, answered while the store answers.
	s1, err := pa.dial(ctx, "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	rec := wait(t, recs, "recording row")
	bothTalk(t, pa, pb, 0, 25, 0, 0)

	down()
	var rows []directory.Call
	if err := s1.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "bye at callee")
	rows = append(rows, cs.nextCDR(t))

	// A call from start to end in the outage.
	s2, err := pa.dial(ctx, "10002")
	if err != nil {
		t.Fatalf("dial in the outage: %v", err)
	}
	wait(t, pb.incoming, "call answered in the outage")
	bothTalk(t, pa, pb, 0, 10, 0, 0)
	if err := s2.Bye(ctx); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "bye at callee")
	rows = append(rows, cs.nextCDR(t))

	// Refused ones.
	for _, ext := range []string{"10003", "10004"} {
		if _, err := pa.dial(ctx, ext); err == nil {
			t.Fatalf("dial %s: answered", ext)
		}
		rows = append(rows, cs.nextCDR(t))
	}
	held := cs.HistoryWritesHeld()
	t.Logf("writes held in the outage: %d", held)
	if held < len(rows) {
		t.Errorf("%d writes held for %d calls: the outage did not take", held, len(rows))
	}

	up()
	// No event tells that the spool is empty: a bounded poll.
	for i := 0; cs.HistoryWritesHeld() > 0; i++ {
		if i == 400 {
			t.Fatalf("%d writes still held after the store came back", cs.HistoryWritesHeld())
		}
		time.Sleep(50 * time.Millisecond)
	}

	calls, err := st.Calls(ctx, directory.CallFilter{Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != len(rows) {
		t.Errorf("%d calls stored, want %d: %+v", len(calls), len(rows), calls)
	}
	stored := map[string]directory.Call{}
	for _, c := range calls {
		stored[c.SIPCallID] = c
	}
	same := func(a, b time.Time) bool { return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond)) }
	for _, want := range rows {
		got, ok := stored[want.SIPCallID]
		if !ok || got.Disposition != want.Disposition || got.To != want.To || got.HangupBy != want.HangupBy ||
			!same(got.StartedAt, want.StartedAt) || !same(got.AnsweredAt, want.AnsweredAt) ||
			!same(got.EndedAt, want.EndedAt) || got.EndedAt.IsZero() {
			t.Errorf("call %s (%s):\n got %+v\nwant %+v", want.SIPCallID, want.Disposition, got, want)
		}
	}
	if rows[0].Disposition != directory.Answered || rows[1].Disposition != directory.Answered ||
		rows[2].Disposition != directory.Busy || rows[3].Disposition != directory.Unavailable {
		t.Errorf("dispositions %s, %s, %s, %s: want answered, answered, busy, unavailable",
			rows[0].Disposition, rows[1].Disposition, rows[2].Disposition, rows[3].Disposition)
	}

	// The recording of the first call is there, and every recording (a
	// store that can still be read records the calls made in the outage
	// too) is finished with the size and hash of its file.
	if got := recordingsOf(t, st, stored[rows[0].SIPCallID].ID); len(got) != 1 || got[0].Path != rec.Path {
		t.Errorf("recordings of the first call: %+v, want the one at %s", got, rec.Path)
	}
	all, err := st.Recordings(ctx, directory.RecordingFilter{Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d recordings", len(all))
	for _, r := range all {
		size, sum := fileSHA256(t, r.Path)
		if r.State != directory.RecordingDone || r.Size != size || r.SHA256 != sum || r.Duration <= 0 {
			t.Errorf("recording row %+v, file %d bytes %s", r, size, sum)
		}
	}
	cs.noCallLeft(t)
}

// A recording cut by a full disk is a valid file, and its row's
// duration, size and SHA-256 are the file's.
func TestRecordingCutByFullDisk(t *testing.T) {
	dir, ok := smalldisk.Dir(t, "1m")
	if !ok {
		return
	}
	st, _ := openSQLite(t) // the database is elsewhere: only the recordings fill up
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	setSetting(t, st, directory.SettingRecording, "all")
	recDir := filepath.Join(dir, "recordings")
	if err := os.MkdirAll(filepath.Join(recDir, time.Now().UTC().Format("2006/01/02")), 0o750); err != nil {
		t.Fatal(err)
	}
	// Leave about 40 KiB, a little over a second of stereo audio.
	filler := filepath.Join(dir, "filler")
	smalldisk.Fill(t, filler)
	fi, err := os.Stat(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filler, fi.Size()-40<<10); err != nil {
		t.Fatal(err)
	}
	cs, recs := startRecordingServer(t, st, recDir)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	row, _, _ := conversation(t, cs, pa, pb, 150, 0, 0) // 3 s: the disk fills in the middle
	wait(t, recs, "recording row")
	got := recordingsOf(t, st, row.ID)
	if len(got) != 1 {
		t.Fatalf("recordings: %+v", got)
	}
	r := got[0]
	size, sum := fileSHA256(t, r.Path)
	d, err := record.WavDuration(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("row %+v; file %d bytes, header says %v", r, size, d)
	if r.State != directory.RecordingFailed || r.Error == "" {
		t.Errorf("state %s (%q), want failed with the reason", r.State, r.Error)
	}
	if r.Size != size || r.SHA256 != sum || r.Duration != d.Truncate(time.Millisecond) { // stored in ms
		t.Errorf("row: %d bytes, %s, %v; file: %d bytes, %s, header %v", r.Size, r.SHA256, r.Duration, size, sum, d)
	}
	if want := 44 + int64(d)*32000/int64(time.Second); size != want || d < 500*time.Millisecond {
		t.Errorf("file %d bytes with a header of %v of audio (%d bytes)", size, d, want)
	}
	cs.noCallLeft(t)
}

// A restart during the outage loses nothing: the writes held
// stay in the spool file and the next run writes them, once.
func TestHistoryHeldAcrossRestart(t *testing.T) {
	pg := pgtest.Private(t)
	st := openPostgresURL(t, pg.URL)
	addUser(t, st, "10001")
	addUser(t, st, "10004") // never registers
	spoolPath := filepath.Join(t.TempDir(), "history.spool")
	opts := func(c *Config) {
		c.Calls = CallConfig{RTPLow: 46000, RTPHigh: 46999, MediaIP: netip.MustParseAddr("127.0.0.1"),
			MediaTimeout: time.Minute}
		c.SpoolPath = spoolPath
	}
	cs := &callServer{cdr: make(chan directory.Call, 100), st: st}
	cs.testServer = startServerHooked(t, st, nil, func(s *Server) {
		cs.b = s.calls
		cs.b.Hooks.Ended = func(c directory.Call) { cs.cdr <- c }
	}, opts)
	pa := newCallPhone(t, cs, "10001", answerOK)

	pg.Stop()
	if _, err := pa.dial(t.Context(), "10004"); err == nil {
		t.Fatal("dial 10004: answered")
	}
	row := cs.nextCDR(t)
	if n := cs.HistoryWritesHeld(); n != 1 {
		t.Fatalf("%d writes held, want 1", n)
	}
	cs.stop() // the last attempt at shutdown fails too: the write stays in the file

	pg.Start()
	next := startServerHooked(t, st, nil, nil, opts)
	for i := 0; next.HistoryWritesHeld() > 0; i++ {
		if i == 400 {
			t.Fatalf("%d writes still held after the restart", next.HistoryWritesHeld())
		}
		time.Sleep(50 * time.Millisecond)
	}
	calls, err := st.Calls(t.Context(), directory.CallFilter{Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].SIPCallID != row.SIPCallID || calls[0].Disposition != directory.Unavailable ||
		!calls[0].StartedAt.Equal(row.StartedAt.Truncate(time.Microsecond)) {
		t.Errorf("calls after the restart: %+v\nwant one like %+v", calls, row)
	}
}
