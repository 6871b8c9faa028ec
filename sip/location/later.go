package location

import (
	"context"
	"slices"
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
//
// Nor need such a refresh be written at all while the store's copy of the
// binding (storedCopy) still has 3/4 of the new interval left: a phone
// that refreshes within a quarter of its interval (NAT keep-alives, load
// generators: SIPp's ladder refreshes 10,000 phones every 2.5 s for an
// hour's Expires) would otherwise cost a row write per REGISTER, 12% of
// the registrar's CPU. The copy is rewritten once a quarter of the
// interval has passed since it was written, so after a crash every
// binding still lasts 3/4 of its interval past its last refresh: past the
// next refresh of a phone that refreshed within a quarter of it, and one
// that refreshes later than that had every refresh written. What the
// store may lack is the last refresh's Call-ID, CSeq and the exact expiry
// (up to a quarter of the interval short), none of which routes a call; a
// changed User-Agent is written.

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
	e, now := l.exts[ext], l.clock.Now()
	for _, b := range refreshes {
		if e.storedLasts(b, now) {
			continue
		}
		l.later[laterKey{b.Extension, b.Contact}] = b
	}
	l.mu.Unlock()
}

// storedCopy is what this node knows the store holds of one binding: its
// expiry and User-Agent as last written or read.
type storedCopy struct {
	contact, userAgent string
	expires            time.Time
}

// storedLasts reports whether the store's copy of b's binding may stand
// for b, a refresh at now: the same User-Agent, and at least 3/4 of b's
// interval left. Call it holding l.mu.
func (e *extBindings) storedLasts(b directory.Binding, now time.Time) bool {
	for _, c := range e.stored {
		if c.contact == b.Contact {
			return c.userAgent == b.UserAgent && 4*c.expires.Sub(now) >= 3*b.Expires.Sub(now)
		}
	}
	return false
}

// setStored records b as written to (or read from) the store.
func (e *extBindings) setStored(b directory.Binding) {
	for i := range e.stored {
		if e.stored[i].contact == b.Contact {
			e.stored[i] = storedCopy{b.Contact, b.UserAgent, b.Expires}
			return
		}
	}
	e.stored = append(e.stored, storedCopy{b.Contact, b.UserAgent, b.Expires})
}

func (e *extBindings) dropStored(contact string) {
	e.stored = slices.DeleteFunc(e.stored, func(c storedCopy) bool { return c.contact == contact })
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
			e.setStored(b)
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
