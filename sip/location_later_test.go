package sip

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// storedBinding returns the store's binding of ext, failing unless there
// is exactly one.
func storedBinding(t *testing.T, st directory.Store, ts *testServer, ext string) directory.Binding {
	t.Helper()
	bs, err := st.Bindings(t.Context(), ts.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out []directory.Binding
	for _, b := range bs {
		if b.Extension == ext {
			out = append(out, b)
		}
	}
	if len(out) != 1 {
		t.Fatalf("stored bindings of %s: %+v", ext, out)
	}
	return out[0]
}

// TestRefreshWrittenBehind: a refresh that changes no route and finds most
// of its interval left is answered before its write, which follows within
// FlushLater, or never comes while the store's copy still has 3/4 of the
// interval left; a first registration, a route change or a late refresh is
// written before the 200. A deletion after a written-behind refresh is not
// undone by it.
func TestRefreshWrittenBehind(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)

	wantStatus(t, p.register(3600), 200)
	first := storedBinding(t, st, ts, "10001") // the first one: before the 200

	ts.clock.Advance(time.Minute)
	wantStatus(t, p.register(3600), 200) // the stored copy has 59 of 60 minutes: not written
	ts.loc.FlushLater(t.Context())
	if got := storedBinding(t, st, ts, "10001"); !got.Expires.Equal(first.Expires) {
		t.Fatalf("refresh written while the stored copy lasts: expires %v, first %v", got.Expires, first.Expires)
	}
	ts.clock.Advance(15 * time.Minute)
	wantStatus(t, p.register(3600), 200) // 45 of 60 minutes left in memory, 44 stored: behind
	if got := storedBinding(t, st, ts, "10001"); !got.Expires.Equal(first.Expires) {
		t.Fatalf("refresh written before the 200: expires %v, first %v", got.Expires, first.Expires)
	}
	mem := ts.loc.Current("10001")
	if len(mem) != 1 || !mem[0].Expires.After(first.Expires) {
		t.Fatalf("in memory: %+v", mem)
	}
	ts.loc.FlushLater(t.Context())
	if got := storedBinding(t, st, ts, "10001"); !got.Expires.Equal(mem[0].Expires) || got.CSeq != mem[0].CSeq {
		t.Fatalf("after the flush the store has %+v, memory %+v", got, mem[0])
	}

	// Half the interval gone: the refresh is written before its 200.
	ts.clock.Advance(30 * time.Minute)
	wantStatus(t, p.register(3600), 200)
	if got := storedBinding(t, st, ts, "10001"); !got.Expires.Equal(ts.clock.Now().Add(time.Hour)) {
		t.Fatalf("late refresh not written before the 200: %v", got.Expires)
	}

	// Written behind, then unregistered: the flush must not bring it back.
	ts.clock.Advance(10 * time.Minute)
	wantStatus(t, p.register(3600), 200)
	ts.clock.Advance(6 * time.Minute)
	wantStatus(t, p.register(3600), 200)
	wantStatus(t, p.register(0), 200)
	ts.loc.FlushLater(t.Context())
	bs, err := st.Bindings(t.Context(), ts.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 0 {
		t.Fatalf("unregistered binding back in the store: %+v", bs)
	}
}

// TestRefreshFromNewSourceWrittenFirst: the same contact from another
// source is a new route, stored before the 200.
func TestRefreshFromNewSourceWrittenFirst(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword, from("127.0.0.1"))
	wantStatus(t, p.register(3600, "sip:10001@192.168.1.50:5060"), 200)
	q := newPhone(t, ts, "10001", testPassword, from("127.0.0.2"))
	q.callID = p.callID
	q.cseq = p.cseq + 10
	ts.clock.Advance(time.Minute)
	wantStatus(t, q.register(3600, "sip:10001@192.168.1.50:5060"), 200)
	if got := storedBinding(t, st, ts, "10001"); got.Source[:10] != "127.0.0.2:" {
		t.Fatalf("new source not stored before the 200: %s", got.Source)
	}
}

// slowPuts holds PutBindings, once armed, until released.
type slowPuts struct {
	directory.Store
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

// UserVersion passes on the store's count of user changes, so that
// credentials are confirmed in memory as with the store itself.
func (s *slowPuts) UserVersion() uint64 { return s.Store.(directory.UserVersioner).UserVersion() }

func (s *slowPuts) PutBindings(ctx context.Context, bs []directory.Binding) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.entered)
		<-s.release
	}
	return s.Store.PutBindings(ctx, bs)
}

// slowPutsServer starts a server on a SQLite store whose PutBindings can
// be held (slowPuts), with the phones of extensions 10001 and 10002.
func slowPutsServer(t *testing.T) (*slowPuts, *testServer, *phone, *phone) {
	raw, _ := openSQLite(t)
	st := &slowPuts{Store: raw, entered: make(chan struct{}), release: make(chan struct{})}
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	ts := startServer(t, st, nil)
	return st, ts, newPhone(t, ts, "10001", testPassword), newPhone(t, ts, "10002", testPassword)
}

// TestFlushLaterWritesWithoutLocks: while the refreshes written behind are
// being stored (a slow disk), other phones' refreshes are answered, and an
// unregistration that comes meanwhile is stored after them, not undone.
func TestFlushLaterWritesWithoutLocks(t *testing.T) {
	st, ts, p1, p2 := slowPutsServer(t)
	wantStatus(t, p1.register(3600), 200)
	wantStatus(t, p2.register(3600), 200)
	// Refreshes at 10 minutes are not written (the stored copies last);
	// those at 16 minutes are written behind.
	ts.clock.Advance(10 * time.Minute)
	wantStatus(t, p1.register(3600), 200)
	wantStatus(t, p2.register(3600), 200)
	ts.clock.Advance(6 * time.Minute)
	wantStatus(t, p1.register(3600), 200) // written behind

	st.armed.Store(true)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		ts.loc.FlushLater(t.Context())
	}()
	<-st.entered
	released := false
	defer func() {
		if !released {
			close(st.release)
		}
	}()
	// The flush's write is held: p2's refresh is answered all the same
	// (it waited for the write, holding every extension's lock, before).
	wantStatus(t, p2.register(3600), 200)
	unregistered := make(chan *sip.Response)
	go func() { unregistered <- p1.register(0) }()
	for ts.loc.Queued() == 0 { // the unregistration queued behind the flush
		time.Sleep(time.Millisecond)
	}
	close(st.release)
	released = true
	<-flushed
	wantStatus(t, <-unregistered, 200)
	bs, err := st.Bindings(t.Context(), ts.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Extension == "10001" {
			t.Fatalf("unregistered binding back in the store: %+v", b)
		}
	}
}

// TestRegisterReaderDoesNotWait: REGISTERs over UDP are answered on the
// socket's reader, but one whose binding must be stored before its 200
// waits in a goroutine of its own: while its write is held, another
// phone's refresh on the same socket is answered.
func TestRegisterReaderDoesNotWait(t *testing.T) {
	st, ts, p1, p2 := slowPutsServer(t)
	wantStatus(t, p2.register(3600), 200)

	st.armed.Store(true)
	first := make(chan *sip.Response, 1)
	go func() { first <- p1.register(3600) }()
	<-st.entered // p1's first binding is being written; its 200 waits
	released := false
	defer func() {
		if !released {
			close(st.release)
		}
	}()
	ts.clock.Advance(time.Minute)
	wantStatus(t, p2.register(3600), 200)
	select {
	case res := <-first:
		t.Fatalf("first registration answered %d before its binding was stored", res.StatusCode)
	default:
	}
	close(st.release)
	released = true
	wantStatus(t, <-first, 200)
	if got := storedBinding(t, st, ts, "10001"); got.Contact == "" {
		t.Fatalf("stored: %+v", got)
	}
}
