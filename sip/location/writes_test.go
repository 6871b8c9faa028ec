package location

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
)

// countingStore is a real store that counts its group commits.
type countingStore struct {
	directory.BindingStore
	commits atomic.Int32
}

func (s *countingStore) PutBindings(ctx context.Context, bs []directory.Binding) error {
	s.commits.Add(1)
	return s.BindingStore.PutBindings(ctx, bs)
}

// TestBindingWritesGather: while registrations keep coming, first
// registrations a millisecond apart share commits (gatherWait) instead of
// one each; a lone one after a quiet spell is committed at once, alone.
func TestBindingWritesGather(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "switchboard.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := &countingStore{BindingStore: st}
	w := &bindingWriter{store: cs, log: slog.New(slog.DiscardHandler), timeout: 5 * time.Second}
	put := func(i int) []heldWrite {
		ext := fmt.Sprint(100 + i)
		return []heldWrite{{kind: heldPut, b: directory.Binding{Extension: ext, Contact: "sip:" + ext + "@127.0.0.1:5061",
			Source: "127.0.0.1:5061", Transport: "UDP", Expires: time.Now().Add(time.Hour), CallID: ext, CSeq: 1,
			Node: "n", UpdatedAt: time.Now()}}}
	}
	w.persist(t.Context(), put(0)) // the first: nothing came before it
	if n := cs.commits.Load(); n != 1 {
		t.Fatalf("%d commits for the first write", n)
	}
	const writes = 8
	var wg sync.WaitGroup
	for i := 1; i <= writes; i++ {
		wg.Go(func() { w.persist(t.Context(), put(i)) })
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	if n := cs.commits.Load() - 1; n > writes/2 {
		t.Fatalf("%d writes a millisecond apart took %d commits", writes, n)
	}
	bs, err := st.Bindings(t.Context(), time.Now())
	if err != nil || len(bs) != writes+1 {
		t.Fatalf("%d bindings stored (%v), want %d", len(bs), err, writes+1)
	}
	time.Sleep(gatherBusy) // quiet: the next goes at once
	before := cs.commits.Load()
	w.persist(t.Context(), put(99))
	if cs.commits.Load() != before+1 {
		t.Fatal("a lone write not committed by itself")
	}
}
