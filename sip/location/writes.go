package location

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// bindingWriter writes the location service's binding changes to the
// store, in the order they were made, in group commits; writes the store
// cannot take (ErrUnavailable) are held in order and flushed when it
// answers again.
type bindingWriter struct {
	store   directory.BindingStore
	log     *slog.Logger
	timeout time.Duration

	mu         sync.Mutex
	pending    []heldWrite // held while the store is away, in order
	next       *batch      // the writes waiting for the commit in progress
	committing bool
	lastDone   time.Time // when the last batch was stored
}

// A batch that starts while registrations are coming in (the last batch
// was stored under gatherBusy ago) waits up to gatherWait, or until
// gatherFull writes joined it, before it is committed: a commit costs
// SQLite about 130 us whatever it carries (BenchmarkPutNewBindings: 158
// us a binding one at a time, 50 four at a time, 30 sixteen at a time),
// and at 2,000 REGISTERs a second, a third of them first registrations,
// the writes otherwise went one a commit. A first registration's 200 so
// waits a few milliseconds more under load; a lone one, or a refresh
// that changes nothing (written behind), waits for nothing.
const (
	gatherBusy = 50 * time.Millisecond
	gatherWait = 5 * time.Millisecond
	gatherFull = 16
)

// batch is one group commit: the writes of every registration that came in
// while the previous batch was being written go to the store together, in
// one transaction, so a busy registrar pays one commit per batch instead of
// one per REGISTER, and still answers only after its binding is stored.
type batch struct {
	writes []heldWrite
	lead   chan struct{} // closed when the batch's first writer is to commit it
	done   chan struct{} // closed once the batch is stored, held or dropped
	full   chan struct{} // while it gathers (gatherWait): closed at gatherFull writes
}

type heldKind uint8

const (
	heldPut heldKind = iota
	heldDelete
	heldDeleteAll
)

type heldWrite struct {
	kind heldKind
	b    directory.Binding
}

// maxHeld bounds the writes held while the store is away; the oldest go
// first (phones refresh, so a lost write is repaired by the next one).
const maxHeld = 50000

// persist writes ws to the store in order and returns once they are stored,
// or held because the store is away (or earlier writes are still held:
// order matters, a held put must not land after a later delete). Writes
// arriving while a batch is being stored join the next batch, which the
// first of them commits.
func (w *bindingWriter) persist(ctx context.Context, ws []heldWrite) { w.queue(ctx, ws)() }

// queue is persist in two steps: it takes ws's place in the order of
// writes now and returns the function that stores them (or waits for
// whoever does). A caller may let go of its locks between the two: writes
// queued after it are stored after it.
func (w *bindingWriter) queue(ctx context.Context, ws []heldWrite) (store func()) {
	if len(ws) == 0 {
		return func() {}
	}
	w.mu.Lock()
	if len(w.pending) > 0 {
		for _, hw := range ws {
			w.holdLocked(hw)
		}
		w.mu.Unlock()
		return func() {}
	}
	b := w.next
	if b != nil { // join the batch someone else will commit
		b.writes = append(b.writes, ws...)
		if b.full != nil && len(b.writes) >= gatherFull {
			close(b.full)
			b.full = nil
		}
		w.mu.Unlock()
		return func() { <-b.done }
	}
	b = &batch{writes: ws, lead: make(chan struct{}), done: make(chan struct{})}
	w.next = b
	if !w.committing && !w.lastDone.IsZero() && time.Since(w.lastDone) < gatherBusy && len(ws) < gatherFull {
		// Registrations are coming in: gather some before the commit.
		w.committing = true
		full := make(chan struct{})
		b.full = full
		w.mu.Unlock()
		return func() {
			t := time.NewTimer(gatherWait)
			select {
			case <-t.C:
			case <-full:
				t.Stop()
			}
			w.mu.Lock()
			w.next, b.full = nil, nil
			writes := b.writes
			w.mu.Unlock()
			w.commitBatch(ctx, b, writes)
		}
	}
	if !w.committing {
		w.committing = true
		w.next = nil
		writes := b.writes
		w.mu.Unlock()
		return func() { w.commitBatch(ctx, b, writes) }
	}
	w.mu.Unlock()
	return func() {
		<-b.lead // the batch in progress hands over when it is done
		w.mu.Lock()
		w.next = nil
		writes := b.writes
		w.mu.Unlock()
		w.commitBatch(ctx, b, writes)
	}
}

// commitBatch stores the writes of b, taken from it by its committer, and
// hands over to the next batch.
func (w *bindingWriter) commitBatch(ctx context.Context, b *batch, writes []heldWrite) {
	w.commit(ctx, writes)
	w.mu.Lock()
	close(b.done)
	w.lastDone = time.Now()
	if w.next != nil {
		close(w.next.lead)
	} else {
		w.committing = false
	}
	w.mu.Unlock()
}

// commit stores writes in order, runs of puts in one transaction each; from
// the first write the store cannot take, the rest are held.
func (w *bindingWriter) commit(ctx context.Context, writes []heldWrite) {
	for i := 0; i < len(writes); {
		w.mu.Lock()
		held := len(w.pending) > 0
		w.mu.Unlock()
		j := i + 1
		var err error
		switch {
		case held:
			err = directory.ErrUnavailable
		case writes[i].kind == heldPut:
			for j < len(writes) && writes[j].kind == heldPut {
				j++
			}
			err = w.putAll(ctx, writes[i:j])
		default:
			err = w.apply(ctx, writes[i])
		}
		switch {
		case err == nil:
		case unavailable(err):
			w.mu.Lock()
			if len(w.pending) == 0 {
				w.log.Warn("store unavailable; holding binding writes", "err", err)
			}
			for _, hw := range writes[i:] {
				w.holdLocked(hw)
			}
			w.mu.Unlock()
			return
		default:
			w.log.Error("binding not stored", "ext", writes[i].b.Extension, "writes", j-i, "err", err)
		}
		i = j
	}
}

func (w *bindingWriter) putAll(ctx context.Context, ws []heldWrite) error {
	bs := make([]directory.Binding, len(ws))
	for i, hw := range ws {
		bs[i] = hw.b
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	return w.store.PutBindings(ctx, bs)
}

func (w *bindingWriter) holdLocked(hw heldWrite) {
	if len(w.pending) >= maxHeld {
		w.pending = w.pending[1:]
	}
	w.pending = append(w.pending, hw)
}

func (w *bindingWriter) apply(ctx context.Context, hw heldWrite) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	switch hw.kind {
	case heldPut:
		return w.store.PutBinding(ctx, hw.b)
	case heldDelete:
		return w.store.DeleteBinding(ctx, hw.b)
	default:
		return w.store.DeleteBindings(ctx, hw.b.Extension, hw.b.Node)
	}
}

// unavailable reports whether err means the store did not answer (as
// opposed to refusing), so that the write is worth holding.
func unavailable(err error) bool {
	return errors.Is(err, directory.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// held returns the number of writes waiting for the store.
func (w *bindingWriter) held() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// queued returns how many writes wait for the batch being stored.
func (w *bindingWriter) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.next == nil {
		return 0
	}
	return len(w.next.writes)
}

// flush writes the held writes in order and reports whether none is left.
func (w *bindingWriter) flush(ctx context.Context) bool {
	flushed := 0
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.mu.Unlock()
			if flushed > 0 {
				w.log.Info("held binding writes flushed", "writes", flushed)
			}
			return true
		}
		hw := w.pending[0]
		w.mu.Unlock()
		err := w.apply(ctx, hw)
		if err != nil && unavailable(err) {
			return false
		}
		if err != nil {
			w.log.Error("held binding write dropped", "ext", hw.b.Extension, "err", err)
		}
		w.mu.Lock()
		// Only this goroutine removes from the front; holdLocked may have
		// dropped the oldest entry meanwhile, so compare before removing.
		if len(w.pending) > 0 && w.pending[0] == hw {
			w.pending = w.pending[1:]
		}
		w.mu.Unlock()
		flushed++
	}
}
