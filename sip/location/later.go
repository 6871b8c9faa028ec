package location

import (
	"context"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// laterInterval is how often refreshes written behind (Later) reach the
// store.
const laterInterval = time.Second

// A refresh that changes nothing a call is routed by (contact, source,
// transport, path, node) and finds its binding with most of the new
// interval still left need not wait for a disk write before its 200: the
// stored binding outlives a crash anyway. Such refreshes are kept here and
// written together once a second (FlushLater); everything else is written
// before the answer, as Commit does.

// LazyRefresh reports whether b, replacing cur, may be written behind:
// the same route, and cur has at least 3/4 of b's interval left at now.
func LazyRefresh(cur, b directory.Binding, now time.Time) bool {
	if cur.Contact != b.Contact || cur.Source != b.Source || cur.Transport != b.Transport ||
		cur.Path != b.Path || cur.Direct != b.Direct || cur.Node != b.Node {
		return false
	}
	left := cur.Expires.Sub(now)
	return left > 0 && 4*left >= 3*b.Expires.Sub(now)
}

// Later makes next the bindings of ext at once and keeps refreshes for the
// next FlushLater. Call it holding Lock(ext), like Commit.
func (l *Table) Later(ext string, next, refreshes []directory.Binding) {
	l.mu.Lock()
	l.setLocked(ext, next, true)
	if l.later == nil {
		l.later = make(map[laterKey]directory.Binding)
	}
	for _, b := range refreshes {
		l.later[laterKey{b.Extension, b.Contact}] = b
	}
	l.mu.Unlock()
}

type laterKey struct{ ext, contact string }

// forgetLaterLocked drops refreshes of ext that a write before the answer
// supersedes (a newer put, a delete). Call it holding l.mu.
func (l *Table) forgetLaterLocked(ext string, all bool, bs []directory.Binding) {
	if len(l.later) == 0 {
		return
	}
	if all {
		for k := range l.later {
			if k.ext == ext {
				delete(l.later, k)
			}
		}
		return
	}
	for _, b := range bs {
		delete(l.later, laterKey{ext, b.Contact})
	}
}

// FlushLater writes the refreshes kept by Later in one batch. It holds
// every extension's lock while it chooses them and queues their write, so
// no registration's own write can come between its choice and its write
// (a refresh must not bring back a binding just deleted); the write itself
// is made without them, so registrations go on meanwhile (writes queued
// later are stored later: see queue).
func (l *Table) FlushLater(ctx context.Context) {
	l.mu.Lock()
	n := len(l.later)
	l.mu.Unlock()
	if n == 0 {
		return
	}
	for i := range l.stripes {
		l.stripes[i].Lock()
	}
	l.mu.Lock()
	ws := make([]heldWrite, 0, len(l.later))
	for k, b := range l.later {
		if e := l.exts[k.ext]; e != nil && Index(e.list, k.contact) >= 0 {
			ws = append(ws, heldWrite{kind: heldPut, b: b})
		}
	}
	clear(l.later)
	l.mu.Unlock()
	store := l.writes.queue(ctx, ws)
	for i := range l.stripes {
		l.stripes[i].Unlock()
	}
	store()
}

// RunLater flushes refreshes every laterInterval until ctx ends, and once
// more then.
func (l *Table) RunLater(ctx context.Context) {
	t := time.NewTicker(laterInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.FlushLater(ctx)
		case <-ctx.Done():
			l.FlushLater(context.WithoutCancel(ctx))
			return
		}
	}
}
