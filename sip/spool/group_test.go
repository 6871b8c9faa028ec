package spool

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
)

// gatedStore is a store whose first call write waits for release, and
// which records the keys of each write it is given.
type gatedStore struct {
	*sqlite.Store
	entered, release chan struct{}
	once             sync.Once

	mu     sync.Mutex
	writes [][]string // keys of each SaveCall (one) and SaveCalls
}

func newGatedStore(st *sqlite.Store) *gatedStore {
	return &gatedStore{Store: st, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedStore) note(cs ...*directory.Call) {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = c.Key
	}
	g.mu.Lock()
	g.writes = append(g.writes, keys)
	g.mu.Unlock()
}

func (g *gatedStore) SaveCall(ctx context.Context, c *directory.Call) error {
	g.note(c)
	return g.Store.SaveCall(ctx, c)
}

func (g *gatedStore) SaveCalls(ctx context.Context, cs []*directory.Call) error {
	g.note(cs...)
	return g.Store.SaveCalls(ctx, cs)
}

func (g *gatedStore) written() [][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.writes)
}

func row(i int) *directory.Call {
	return &directory.Call{Key: "k" + strconv.Itoa(i), SIPCallID: strconv.Itoa(i) + "@x", From: "10001", To: "10002",
		Direction: directory.Internal, StartedAt: t0.Add(time.Duration(i) * time.Second),
		EndedAt: t0.Add(time.Duration(i) * time.Second), Disposition: directory.Busy}
}

// groupWrites writes rows 1 to n through sp, row 1 first, so that it is in
// flight at the store g while the others queue behind it, in order; then
// lets the store go on and returns each write's error.
func groupWrites(t *testing.T, sp *Spool, g *gatedStore, rows []*directory.Call) []error {
	t.Helper()
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	for i, c := range rows {
		wg.Go(func() { errs[i] = sp.SaveCall(context.Background(), c) })
		if i == 0 {
			<-g.entered
			continue
		}
		for queued := false; !queued; {
			sp.mu.Lock()
			queued = len(sp.queue) == i
			sp.mu.Unlock()
			if !queued {
				time.Sleep(time.Millisecond)
			}
		}
	}
	close(g.release)
	wg.Wait()
	return errs
}

// Rows written while another is in flight go to the store together, in
// the order they were made, in one transaction, and each caller learns its
// row's ID.
func TestRowsMadeDuringAWriteAreWrittenTogether(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "switchboard.db"))
	g := newGatedStore(st)
	sp := openSpool(t, "", g)
	rows := []*directory.Call{row(1), row(2), row(3), row(4), row(5)}
	for i, err := range groupWrites(t, sp, g, rows) {
		if err != nil || rows[i].ID == 0 {
			t.Errorf("row %s: %v, ID %d", rows[i].Key, err, rows[i].ID)
		}
	}
	want := [][]string{{"k1"}, {"k2", "k3", "k4", "k5"}}
	if got := g.written(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("store writes %v, want %v", got, want)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].ID <= rows[i-1].ID {
			t.Errorf("row %s has ID %d, after %d: not written in order", rows[i].Key, rows[i].ID, rows[i-1].ID)
		}
	}
	if sp.Held() != 0 {
		t.Errorf("%d held", sp.Held())
	}
	// A lone row afterwards goes alone.
	if err := sp.SaveCall(t.Context(), row(6)); err != nil {
		t.Fatal(err)
	}
	if got := g.written(); len(got) != 3 || !slices.Equal(got[2], []string{"k6"}) {
		t.Errorf("store writes %v, want k6 alone last", got)
	}
}

// A row the store refuses in a group is refused to its caller alone: the
// group is written again one by one.
func TestRefusedRowInAGroupLosesNoOther(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "switchboard.db"))
	g := newGatedStore(st)
	sp := openSpool(t, "", g)
	bad := row(3)
	bad.Key = "" // invalid
	rows := []*directory.Call{row(1), row(2), bad, row(4)}
	errs := groupWrites(t, sp, g, rows)
	for i, err := range errs {
		if i == 2 {
			if !errors.Is(err, directory.ErrInvalid) {
				t.Errorf("row without a key: %v, want ErrInvalid", err)
			}
			continue
		}
		if err != nil || rows[i].ID == 0 {
			t.Errorf("row %s: %v, ID %d", rows[i].Key, err, rows[i].ID)
		}
	}
	n, err := st.CountCalls(t.Context(), directory.CallFilter{Vis: directory.Visibility{All: true}})
	if err != nil || n != 3 {
		t.Errorf("%d calls stored (%v), want 3", n, err)
	}
	if sp.Held() != 0 {
		t.Errorf("%d held", sp.Held())
	}
}

// A group whose store goes away is held whole, in order, behind the row in
// flight, and replayed in order (the rows at the front in one transaction).
func TestGroupHeldWhenStoreGoesAwayAndReplayedInOrder(t *testing.T) {
	dir := t.TempDir()
	db, file := filepath.Join(dir, "switchboard.db"), filepath.Join(dir, "history.spool")
	st := openStore(t, db)
	g := newGatedStore(st)
	sp := openSpool(t, file, g)
	rows := []*directory.Call{row(1), row(2), row(3), row(4)}
	st.Close() // while row 1 is in flight: it is released after
	for i, err := range groupWrites(t, sp, g, rows) {
		if err != nil {
			t.Errorf("row %s: %v, want held", rows[i].Key, err)
		}
	}
	if n := sp.Held(); n != 4 {
		t.Fatalf("%d held, want 4", n)
	}
	sp.Close()

	st = openStore(t, db)
	g = newGatedStore(st)
	close(g.release)
	sp = openSpool(t, file, g)
	if !sp.Flush(t.Context()) || sp.Held() != 0 {
		t.Fatalf("flush left %d", sp.Held())
	}
	want := [][]string{{"k1", "k2", "k3", "k4"}}
	if got := g.written(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("replay writes %v, want %v", got, want)
	}
	calls, err := st.Calls(t.Context(), directory.CallFilter{Vis: directory.Visibility{All: true}})
	if err != nil || len(calls) != 4 {
		t.Fatalf("%d calls (%v), want 4", len(calls), err)
	}
	// Newest first: k4 has the highest ID.
	for i, c := range calls {
		if c.SIPCallID != strconv.Itoa(4-i)+"@x" || (i > 0 && c.ID >= calls[i-1].ID) {
			t.Errorf("calls %d: %s ID %d, not replayed in order", i, c.SIPCallID, c.ID)
		}
	}
}

// With Gather set, a row that finds no write in flight waits for others:
// rows written meanwhile share its transaction, and a whole batch goes
// without waiting out the rest (here an hour).
func TestGatherWritesRowsMadeApartTogether(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "switchboard.db"))
	g := newGatedStore(st)
	close(g.release)
	sp := openSpool(t, "", g)
	sp.Gather = time.Hour
	rows := make([]*directory.Call, maxBatch)
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	for i := range rows {
		rows[i] = row(i + 1)
		wg.Go(func() { errs[i] = sp.SaveCall(context.Background(), rows[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || rows[i].ID == 0 {
			t.Errorf("row %s: %v, ID %d", rows[i].Key, err, rows[i].ID)
		}
	}
	if got := g.written(); len(got) != 1 || len(got[0]) != maxBatch {
		t.Errorf("store writes of %d rows, want one of %d", len(got), maxBatch)
	}
}
