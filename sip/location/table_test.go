package location

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// flakyStore is a real store that answers ErrUnavailable while down.
type flakyStore struct {
	directory.BindingStore
	down atomic.Bool
}

func (s *flakyStore) PutBinding(ctx context.Context, b directory.Binding) error {
	if s.down.Load() {
		return directory.ErrUnavailable
	}
	return s.BindingStore.PutBinding(ctx, b)
}

func (s *flakyStore) PutBindings(ctx context.Context, bs []directory.Binding) error {
	if s.down.Load() {
		return directory.ErrUnavailable
	}
	return s.BindingStore.PutBindings(ctx, bs)
}

func (s *flakyStore) DeleteBinding(ctx context.Context, b directory.Binding) error {
	if s.down.Load() {
		return directory.ErrUnavailable
	}
	return s.BindingStore.DeleteBinding(ctx, b)
}

func (s *flakyStore) DeleteBindings(ctx context.Context, ext, node string) error {
	if s.down.Load() {
		return directory.ErrUnavailable
	}
	return s.BindingStore.DeleteBindings(ctx, ext, node)
}

// newTable returns a table over a fresh SQLite store, the store and the
// table's clock.
func newTable(t *testing.T) (*Table, *flakyStore, *clock.Manual) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "switchboard.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	fs := &flakyStore{BindingStore: st}
	clk := clock.NewManual()
	return New(fs, "node-1", clk, slog.New(slog.DiscardHandler), time.Second), fs, clk
}

func binding(ext, contact, src string, exp time.Time) directory.Binding {
	return directory.Binding{Extension: ext, Contact: contact, Source: src, Transport: "UDP",
		Expires: exp.Truncate(time.Second), CallID: "c-" + ext, CSeq: 1, Node: "node-1"}
}

// stored returns the store's unexpired bindings of ext.
func stored(t *testing.T, st directory.BindingStore, ext string, now time.Time) []directory.Binding {
	t.Helper()
	all, err := st.Bindings(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	var out []directory.Binding
	for _, b := range all {
		if b.Extension == ext {
			out = append(out, b)
		}
	}
	return out
}

// commit is a registration's Commit, under the extension's lock.
func commit(l *Table, ext string, next, puts, dels []directory.Binding, all bool) {
	unlock := l.Lock(ext)
	defer unlock()
	l.Commit(context.Background(), ext, next, puts, dels, all)
}

// TestCommitStoresFirst: a binding is in the store once Commit returns (a
// kill -9 after the 200 keeps it), and in memory too, counted by source.
func TestCommitStoresFirst(t *testing.T) {
	l, st, clk := newTable(t)
	var events []string
	l.OnRegistered(func(ext string, registered bool) {
		events = append(events, ext+map[bool]string{true: " on", false: " off"}[registered])
	})
	b := binding("10001", "sip:10001@192.168.1.50", "192.0.2.7:5060", clk.Now().Add(time.Hour))
	commit(l, "10001", []directory.Binding{b}, []directory.Binding{b}, nil, false)
	if got := stored(t, st, "10001", clk.Now()); len(got) != 1 || got[0].Contact != b.Contact {
		t.Fatalf("stored after Commit: %+v", got)
	}
	if got := l.Current("10001"); len(got) != 1 || got[0] != b {
		t.Fatalf("in memory: %+v", got)
	}
	if !l.Registered(netip.MustParseAddr("192.0.2.7")) || !l.RegisteredExt(netip.MustParseAddr("::ffff:192.0.2.7"), "10001") ||
		l.RegisteredExt(netip.MustParseAddr("192.0.2.7"), "10002") || !l.HasConnection("192.0.2.7:5060") ||
		l.HasConnection("192.0.2.7:5061") {
		t.Error("source counts wrong after Commit")
	}
	if n, e := l.Count(); n != 1 || e != 1 {
		t.Errorf("Count: %d bindings, %d extensions", n, e)
	}

	l.Drop(t.Context(), "10001")
	if got := stored(t, st, "10001", clk.Now()); len(got) != 0 {
		t.Fatalf("stored after Drop: %+v", got)
	}
	if l.Registered(netip.MustParseAddr("192.0.2.7")) || l.HasConnection("192.0.2.7:5060") || len(l.Current("10001")) != 0 {
		t.Error("binding left in memory after Drop")
	}
	if len(events) != 2 || events[0] != "10001 on" || events[1] != "10001 off" {
		t.Errorf("OnRegistered told %v", events)
	}
}

// TestHeldWritesInOrder: writes the store cannot take are held in order and
// flushed in that order, so a put held before a delete does not outlive it.
func TestHeldWritesInOrder(t *testing.T) {
	l, st, clk := newTable(t)
	exp := clk.Now().Add(time.Hour)
	a := binding("10001", "sip:10001@192.168.1.50", "192.0.2.7:5060", exp)
	b := binding("10001", "sip:10001@192.168.1.51", "192.0.2.8:5060", exp)

	st.down.Store(true)
	commit(l, "10001", []directory.Binding{a}, []directory.Binding{a}, nil, false)
	commit(l, "10001", []directory.Binding{a, b}, []directory.Binding{b}, nil, false)
	commit(l, "10001", []directory.Binding{b}, nil, []directory.Binding{a}, false)
	if n := l.Held(); n != 3 {
		t.Fatalf("held %d writes, want 3", n)
	}
	if l.Flush(t.Context()) {
		t.Fatal("Flush reported done with the store down")
	}
	if err := l.Reload(t.Context(), nil); err != nil || len(l.Current("10001")) != 1 {
		t.Fatalf("Reload with writes held undid them: %v, %+v", err, l.Current("10001"))
	}

	st.down.Store(false)
	if !l.Flush(t.Context()) || l.Held() != 0 {
		t.Fatalf("Flush left %d writes", l.Held())
	}
	got := stored(t, st, "10001", clk.Now())
	if len(got) != 1 || got[0].Contact != b.Contact {
		t.Fatalf("stored after the flush: %+v, want only %s", got, b.Contact)
	}
}

// TestLaterThenDelete: a refresh kept by Later reaches the store with
// FlushLater, and one superseded by a delete does not bring the binding
// back.
func TestLaterThenDelete(t *testing.T) {
	l, st, clk := newTable(t)
	b := binding("10001", "sip:10001@192.168.1.50", "192.0.2.7:5060", clk.Now().Add(time.Hour))
	commit(l, "10001", []directory.Binding{b}, []directory.Binding{b}, nil, false)

	// 20 minutes on, the stored copy has 40 of the refresh's 60 minutes
	// left: written behind (in memory, a refresh at 10 minutes left 50).
	clk.Advance(10 * time.Minute)
	r1 := b
	r1.Expires, r1.CSeq = clk.Now().Add(time.Hour).Truncate(time.Second), 2
	later(l, r1)
	clk.Advance(10 * time.Minute)
	r := r1
	r.Expires, r.CSeq = clk.Now().Add(time.Hour).Truncate(time.Second), 3
	if !LazyRefresh(r1, r, clk.Now()) {
		t.Fatal("a refresh 10 minutes into an hour is not lazy")
	}
	later(l, r)
	if got := stored(t, st, "10001", clk.Now()); len(got) != 1 || got[0].CSeq != 1 {
		t.Fatalf("refresh stored before FlushLater: %+v", got)
	}
	l.FlushLater(t.Context())
	if got := stored(t, st, "10001", clk.Now()); len(got) != 1 || got[0].CSeq != 3 || !got[0].Expires.Equal(r.Expires) {
		t.Fatalf("after FlushLater the store has %+v", got)
	}

	clk.Advance(20 * time.Minute)
	r2 := r
	r2.Expires, r2.CSeq = clk.Now().Add(time.Hour).Truncate(time.Second), 4
	later(l, r2)
	commit(l, "10001", nil, nil, []directory.Binding{r2}, false)
	l.FlushLater(t.Context())
	if got := stored(t, st, "10001", clk.Now()); len(got) != 0 {
		t.Fatalf("deleted binding back in the store: %+v", got)
	}
}

// later applies the refresh r of its extension's only binding as the
// registrar does one that may be written behind.
func later(l *Table, r directory.Binding) {
	unlock := l.Lock(r.Extension)
	l.Later(r.Extension, []directory.Binding{r}, []directory.Binding{r})
	unlock()
}

// TestRefreshNotWrittenWhileStoredLasts: a refresh made while the store's
// copy has 3/4 of the new interval left is not written at all; the first
// after a quarter of the interval is (behind), and so is one that changes
// the User-Agent. The store's copy never has less than 3/4 of an interval
// left at a refresh.
func TestRefreshNotWrittenWhileStoredLasts(t *testing.T) {
	l, st, clk := newTable(t)
	b := binding("10001", "sip:10001@192.168.1.50", "192.0.2.7:5060", clk.Now().Add(time.Hour))
	commit(l, "10001", []directory.Binding{b}, []directory.Binding{b}, nil, false)
	cur, writes := b, 0
	for i := range 40 { // a refresh every minute for 40 minutes
		clk.Advance(time.Minute)
		r := cur
		r.Expires, r.CSeq = clk.Now().Add(time.Hour), cur.CSeq+1
		later(l, r)
		before := stored(t, st, "10001", clk.Now())[0]
		l.FlushLater(t.Context())
		after := stored(t, st, "10001", clk.Now())[0]
		if !after.Expires.Equal(before.Expires) {
			writes++
			if !after.Expires.Equal(r.Expires) {
				t.Fatalf("refresh %d: stored %v, want %v", i, after.Expires, r.Expires)
			}
		}
		if left := after.Expires.Sub(clk.Now()); 4*left < 3*time.Hour {
			t.Fatalf("refresh %d: the stored copy has %v left", i, left)
		}
		cur = r
	}
	// Written at minutes 16 and 32 (a quarter of the hour after the last
	// write), not at the other 38 refreshes.
	if writes != 2 {
		t.Errorf("%d of 40 refreshes written, want 2", writes)
	}
	clk.Advance(time.Minute)
	r := cur
	r.Expires, r.CSeq, r.UserAgent = clk.Now().Add(time.Hour), cur.CSeq+1, "Phone/2.0"
	later(l, r)
	l.FlushLater(t.Context())
	if got := stored(t, st, "10001", clk.Now()); got[0].UserAgent != "Phone/2.0" {
		t.Errorf("new User-Agent not written: %+v", got[0])
	}
}

// TestLazyRefresh: only a refresh of the same route with most of the new
// interval left on the old binding may be written behind.
func TestLazyRefresh(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cur := binding("10001", "sip:10001@192.168.1.50", "192.0.2.7:5060", now.Add(50*time.Minute))
	next := cur
	next.Expires = now.Add(time.Hour)
	if !LazyRefresh(cur, next, now) {
		t.Error("50 of 60 minutes left: not lazy")
	}
	if !LazyRefresh(cur, next, now.Add(10*time.Minute)) {
		t.Error("40 of 50 minutes left: not lazy")
	}
	late := cur
	late.Expires = now.Add(40 * time.Minute)
	if LazyRefresh(late, next, now) {
		t.Error("40 of 60 minutes left: lazy")
	}
	if LazyRefresh(cur, next, now.Add(50*time.Minute)) {
		t.Error("expired binding: lazy")
	}
	for name, change := range map[string]func(*directory.Binding){
		"contact":   func(b *directory.Binding) { b.Contact = "sip:10001@192.168.1.51" },
		"source":    func(b *directory.Binding) { b.Source = "192.0.2.7:5062" },
		"transport": func(b *directory.Binding) { b.Transport = "TCP" },
		"path":      func(b *directory.Binding) { b.Path = "<sip:edge.example.com;lr>" },
		"direct":    func(b *directory.Binding) { b.Direct = true },
		"node":      func(b *directory.Binding) { b.Node = "node-2" },
	} {
		b := next
		change(&b)
		if LazyRefresh(cur, b, now) {
			t.Errorf("a new %s: lazy", name)
		}
	}
}

// TestReloadTakesOtherNodes: a reload takes what other nodes stored,
// and forgets what they deleted.
func TestReloadTakesOtherNodes(t *testing.T) {
	l, st, clk := newTable(t)
	other := binding("10002", "sip:10002@192.168.1.60", "192.0.2.9:5060", clk.Now().Add(time.Hour))
	other.Node = "node-2"
	if err := st.PutBinding(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if got := l.Current("10002"); len(got) != 1 || got[0].Node != "node-2" {
		t.Fatalf("after Reload: %+v", got)
	}
	if err := st.DeleteBindings(t.Context(), "10002", "node-2"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(t.Context(), map[string]bool{"10002": true}); err != nil {
		t.Fatal(err)
	}
	if got := l.All(); len(got) != 0 {
		t.Fatalf("after the other node's delete: %+v", got)
	}
}

// TestSweep: expired bindings leave memory, and DeleteExpired the store.
func TestSweep(t *testing.T) {
	l, st, clk := newTable(t)
	b := binding("10001", "sip:10001@192.168.1.50", "192.0.2.7:5060", clk.Now().Add(time.Minute))
	commit(l, "10001", []directory.Binding{b}, []directory.Binding{b}, nil, false)
	clk.Advance(2 * time.Minute)
	if len(l.Current("10001")) != 0 {
		t.Error("expired binding current")
	}
	if n := l.Sweep(); n != 1 {
		t.Errorf("Sweep forgot %d, want 1", n)
	}
	if l.Registered(netip.MustParseAddr("192.0.2.7")) {
		t.Error("swept binding still counted for its source")
	}
	if err := l.DeleteExpired(t.Context()); err != nil {
		t.Fatal(err)
	}
	all, err := st.Bindings(t.Context(), clk.Now().Add(-time.Hour))
	if err != nil || len(all) != 0 {
		t.Fatalf("store after DeleteExpired: %+v, %v", all, err)
	}
}

// TestSweepNothingExpired: a sweep that finds nothing expired keeps every
// binding and allocates nothing (it runs once a second over every
// extension), and one binding expiring among many goes alone.
func TestSweepNothingExpired(t *testing.T) {
	l, _, clk := newTable(t)
	for i := range 100 {
		ext := strconv.Itoa(10000 + i)
		b := binding(ext, "sip:"+ext+"@192.168.1.50", "192.0.2.7:5060", clk.Now().Add(time.Hour))
		commit(l, ext, []directory.Binding{b}, []directory.Binding{b}, nil, false)
	}
	short := binding("10000", "sip:10000@192.168.1.51", "192.0.2.8:5060", clk.Now().Add(time.Minute))
	commit(l, "10000", append(l.Current("10000"), short), []directory.Binding{short}, nil, false)
	if n := testing.AllocsPerRun(10, func() { l.Sweep() }); n != 0 {
		t.Errorf("a sweep with nothing expired allocated %v times", n)
	}
	clk.Advance(2 * time.Minute)
	if n := l.Sweep(); n != 1 {
		t.Errorf("Sweep forgot %d, want 1", n)
	}
	if got := l.Current("10000"); len(got) != 1 || got[0].Contact != "sip:10000@192.168.1.50" {
		t.Errorf("10000 after the sweep: %+v", got)
	}
	if _, exts := l.Count(); exts != 100 {
		t.Errorf("%d extensions after the sweep, want 100", exts)
	}
}
