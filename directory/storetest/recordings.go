package storetest

import (
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var recordingTests = []test{
	{"create, read and update a recording", func(e *env) {
		f := newRecordingFixture(e)
		got := e.recording(f.r1.ID)
		e.sameRecording(got, f.r1)
		if got.CallerID != f.alice.ID || got.CalleeID != f.bob.ID {
			e.t.Errorf("recording of call %d: caller %d callee %d, want %d and %d from the call",
				f.c1.ID, got.CallerID, got.CalleeID, f.alice.ID, f.bob.ID)
		}
		if got.CreatedAt.IsZero() {
			e.t.Error("recording has no creation time")
		}
		got = e.recording(f.r2.ID)
		if got.CallerID != f.bob.ID || got.CalleeID != 0 {
			e.t.Errorf("recording of an outbound call: caller %d callee %d, want %d and 0", got.CallerID,
				got.CalleeID, f.bob.ID)
		}

		f.r2.State, f.r2.Error, f.r2.Size, f.r2.Duration = directory.RecordingFailed, "disk full", 4096, 1500*time.Millisecond
		f.r2.SHA256, f.r2.Path = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "2025/03/14/c2b.wav"
		e.ok(e.s.UpdateRecording(e.ctx, f.r2), "update recording")
		e.sameRecording(e.recording(f.r2.ID), f.r2)
	}},
	{"Recordings filter by state, call and visibility", func(e *env) {
		f := newRecordingFixture(e)
		for _, c := range []struct {
			name string
			f    directory.RecordingFilter
			want []*directory.Recording
		}{
			{"no states: all but deleted", directory.RecordingFilter{Vis: all}, []*directory.Recording{f.r1, f.r2}},
			{"deleted", directory.RecordingFilter{States: []directory.RecordingState{directory.RecordingDeleted}, Vis: all},
				[]*directory.Recording{f.r3}},
			{"done and deleted", directory.RecordingFilter{States: []directory.RecordingState{directory.RecordingDone,
				directory.RecordingDeleted}, Vis: all}, []*directory.Recording{f.r1, f.r3}},
			{"recording", directory.RecordingFilter{States: []directory.RecordingState{directory.RecordingActive}, Vis: all},
				[]*directory.Recording{f.r2}},
			{"call", directory.RecordingFilter{CallID: f.c1.ID, Vis: all}, []*directory.Recording{f.r1}},
			{"call, deleted too", directory.RecordingFilter{CallID: f.c1.ID, States: []directory.RecordingState{
				directory.RecordingDone, directory.RecordingDeleted}, Vis: all}, []*directory.Recording{f.r1, f.r3}},
			{"created before now (retention)", directory.RecordingFilter{Before: time.Now().Add(time.Hour), Vis: all},
				[]*directory.Recording{f.r1, f.r2}},
			{"created before a day ago", directory.RecordingFilter{Before: time.Now().Add(-24 * time.Hour), Vis: all}, nil},
			{"zero visibility shows nothing", directory.RecordingFilter{}, nil},
			{"visibility of the callee", directory.RecordingFilter{Vis: directory.Visibility{UserIDs: []int64{f.bob.ID}}},
				[]*directory.Recording{f.r1, f.r2}},
			{"visibility of the caller", directory.RecordingFilter{Vis: directory.Visibility{UserIDs: []int64{f.alice.ID}}},
				[]*directory.Recording{f.r1}},
			{"visibility of a user in no call", directory.RecordingFilter{Vis: directory.Visibility{
				UserIDs: []int64{f.carol.ID}}}, nil},
		} {
			rs, err := e.s.Recordings(e.ctx, c.f)
			e.ok(err, "recordings %s", c.name)
			var got []int64
			for _, r := range rs {
				got = append(got, r.ID)
				if r.ID == f.r1.ID && (r.CallerID != f.alice.ID || r.CalleeID != f.bob.ID) {
					e.t.Errorf("Recordings %s: r1 without caller and callee: %+v", c.name, r)
				}
			}
			var want []int64
			for _, r := range c.want {
				want = append(want, r.ID)
			}
			e.set(got, want, "Recordings %s", c.name)
		}
	}},
}

// recordingFixture: call c1 Alice → Bob with r1 (done) and r3 (deleted),
// call c2 Bob → external with r2 (still recording). Carol is in no call.
type recordingFixture struct {
	alice, bob, carol *directory.User
	c1, c2            *directory.Call
	r1, r2, r3        *directory.Recording
}

func newRecordingFixture(e *env) recordingFixture {
	e.t.Helper()
	var f recordingFixture
	f.alice, f.bob, f.carol = e.user("10001"), e.user("10002"), e.user("10003")
	t0 := fixedTime()
	f.c1 = &directory.Call{SIPCallID: "c1", CallerID: f.alice.ID, CalleeID: f.bob.ID, From: "10001", To: "10002",
		Dialed: "10002", Direction: directory.Internal, StartedAt: t0, AnsweredAt: t0.Add(time.Second),
		EndedAt: t0.Add(time.Minute), Disposition: directory.Answered}
	f.c2 = &directory.Call{SIPCallID: "c2", CallerID: f.bob.ID, From: "10002", To: "+48221234567",
		Dialed: "0221234567", Direction: directory.Outbound, StartedAt: t0.Add(time.Hour),
		AnsweredAt: t0.Add(time.Hour + time.Second), Disposition: directory.Answered}
	for _, c := range []*directory.Call{f.c1, f.c2} {
		e.ok(e.s.CreateCall(e.ctx, c), "create call")
	}
	f.r1 = &directory.Recording{CallID: f.c1.ID, Path: "2025/03/14/c1.wav", Size: 960044, Duration: 59250 * time.Millisecond,
		SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", State: directory.RecordingDone}
	f.r2 = &directory.Recording{CallID: f.c2.ID, Path: "2025/03/14/c2.wav", State: directory.RecordingActive}
	f.r3 = &directory.Recording{CallID: f.c1.ID, Path: "2025/03/14/c1-old.wav", Size: 44, State: directory.RecordingDeleted}
	for _, r := range []*directory.Recording{f.r1, f.r2, f.r3} {
		e.ok(e.s.CreateRecording(e.ctx, r), "create recording %s", r.Path)
		if r.ID == 0 {
			e.t.Fatal("CreateRecording set no ID")
		}
	}
	return f
}

func (e *env) recording(id int64) *directory.Recording {
	e.t.Helper()
	r, err := e.s.Recording(e.ctx, id)
	e.ok(err, "recording %d", id)
	return r
}

func (e *env) sameRecording(got, want *directory.Recording) {
	e.t.Helper()
	if got.ID != want.ID || got.CallID != want.CallID || got.Path != want.Path || got.Size != want.Size ||
		got.Duration != want.Duration || got.SHA256 != want.SHA256 || got.State != want.State ||
		got.Error != want.Error {
		e.t.Errorf("recording read back\n got %+v\nwant %+v", got, want)
	}
}

// recordingSearchTests are the filters people use to find a recorded
// call, over the fixture of newRecordingFixture.
var recordingSearchTests = []test{
	{"Recordings filter by the call's time, people, number, direction and length", func(e *env) {
		f := newRecordingFixture(e)
		t0 := fixedTime()
		sales := e.group("Sales", 0)
		e.ok(e.s.AddMember(e.ctx, sales.ID, f.alice.ID), "add Alice to Sales")
		r1, r2 := []*directory.Recording{f.r1}, []*directory.Recording{f.r2}
		for _, c := range []struct {
			name string
			f    directory.RecordingFilter
			want []*directory.Recording
		}{
			{"started from", directory.RecordingFilter{From: t0.Add(30 * time.Minute), Vis: all}, r2},
			{"started before", directory.RecordingFilter{To: t0.Add(30 * time.Minute), Vis: all}, r1},
			{"a day with both", directory.RecordingFilter{From: t0.Add(-time.Hour), To: t0.Add(23 * time.Hour), Vis: all},
				[]*directory.Recording{f.r1, f.r2}},
			{"user as caller", directory.RecordingFilter{UserID: f.alice.ID, Vis: all}, r1},
			{"user as caller and callee", directory.RecordingFilter{UserID: f.bob.ID, Vis: all},
				[]*directory.Recording{f.r1, f.r2}},
			{"user in no call", directory.RecordingFilter{UserID: f.carol.ID, Vis: all}, nil},
			{"calls of a page", directory.RecordingFilter{CallIDs: []int64{f.c2.ID, f.c1.ID + f.c2.ID + 100}, Vis: all}, r2},
			{"calls of a page, both", directory.RecordingFilter{CallIDs: []int64{f.c1.ID, f.c2.ID}, Vis: all},
				[]*directory.Recording{f.r1, f.r2}},
			{"group member", directory.RecordingFilter{GroupID: sales.ID, Vis: all}, r1},
			{"number as typed", directory.RecordingFilter{Number: "22 123", Vis: all}, r2},
			{"extension", directory.RecordingFilter{Number: "10001", Vis: all}, r1},
			{"direction outbound", directory.RecordingFilter{Direction: directory.Outbound, Vis: all}, r2},
			{"direction internal", directory.RecordingFilter{Direction: directory.Internal, Vis: all}, r1},
			{"at least 30 s", directory.RecordingFilter{MinDuration: 30 * time.Second, Vis: all}, r1},
			{"at most 30 s", directory.RecordingFilter{MaxDuration: 30 * time.Second, Vis: all}, r2},
			{"59.25 s is within 59.25 s", directory.RecordingFilter{MinDuration: 59250 * time.Millisecond,
				MaxDuration: 59250 * time.Millisecond, Vis: all}, r1},
			{"filters do not widen visibility", directory.RecordingFilter{Direction: directory.Outbound,
				Vis: directory.Visibility{UserIDs: []int64{f.alice.ID}}}, nil},
			{"user filter within visibility", directory.RecordingFilter{UserID: f.bob.ID,
				Vis: directory.Visibility{UserIDs: []int64{f.alice.ID}}}, r1},
		} {
			rs, err := e.s.Recordings(e.ctx, c.f)
			e.ok(err, "recordings %s", c.name)
			var got, want []int64
			for _, r := range rs {
				got = append(got, r.ID)
			}
			for _, r := range c.want {
				want = append(want, r.ID)
			}
			e.set(got, want, "Recordings %s", c.name)
		}
	}},
	{"Recordings sort by time and length", func(e *env) {
		f := newRecordingFixture(e)
		for _, c := range []struct {
			sort directory.RecordingSort
			want []int64
		}{
			{"", []int64{f.r2.ID, f.r1.ID}},
			{directory.RecordingNewest, []int64{f.r2.ID, f.r1.ID}},
			{directory.RecordingOldest, []int64{f.r1.ID, f.r2.ID}},
			{directory.RecordingLongest, []int64{f.r1.ID, f.r2.ID}},
			{directory.RecordingShortest, []int64{f.r2.ID, f.r1.ID}},
		} {
			rs, err := e.s.Recordings(e.ctx, directory.RecordingFilter{Sort: c.sort, Vis: all})
			e.ok(err, "recordings sorted %q", c.sort)
			var got []int64
			for _, r := range rs {
				got = append(got, r.ID)
			}
			e.ids(got, c.want, "Recordings sorted %q", c.sort)
		}
		rs, err := e.s.Recordings(e.ctx, directory.RecordingFilter{Sort: directory.RecordingOldest, Vis: all,
			Page: directory.Page{Number: 2, Size: 1}})
		e.ok(err, "recordings page 2")
		if len(rs) != 1 || rs[0].ID != f.r2.ID {
			e.t.Errorf("oldest first, page 2 of 1: got %v, want r2 %d", rs, f.r2.ID)
		}
	}},
}
