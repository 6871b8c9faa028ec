// Package spool holds the call history and recording writes the directory
// store could not take (the database stopped, frozen or on a full disk) and
// writes them when it answers again: in memory, and in an append-only file
// that is fsynced, so that a restart during an outage loses none. Writes go
// out in the order they were made, through the store's keyed writes
// (directory.KeyedStore), so a write replayed twice leaves one row.
//
// Writes are committed in groups: a write made while another is in flight
// waits for it, and the writes gathered meanwhile go to the store together,
// the call rows in one transaction (SaveCalls). A lone write goes at once,
// unless the spool is told to gather (Spool.Gather): a call row then waits
// that long for others to share its transaction, whose commit is most of
// what a row costs.
package spool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// MaxHeld bounds the writes held; past it the oldest is dropped (and
// logged), so that a database gone for days cannot exhaust memory.
const MaxHeld = 200000

// Retry is how long the replay waits after the store failed to answer.
const Retry = time.Second

// maxBatch bounds the call rows written in one transaction.
const maxBatch = 256

// Spool is the held writes and the file that keeps them.
type Spool struct {
	// Gather is how long a call row that finds no write in flight waits
	// for others before it goes to the store, so that rows written a few
	// milliseconds apart (calls ending under load) share one transaction;
	// a full batch goes at once. 0, the default, writes a lone row at
	// once. Set it before the first write.
	Gather time.Duration

	store   directory.KeyedStore
	log     *slog.Logger
	timeout time.Duration
	path    string

	mu      sync.Mutex
	f       *os.File // nil: memory only (no path, or the file failed)
	pending []entry
	seq     uint64
	fileErr bool // the last append failed: logged once until one works
	wake    chan struct{}
	// queue is the writes waiting for the one in flight (writing), in
	// the order they were made; the first of them writes them all next.
	queue   []*waiter
	writing bool
	// full, while a row gathers others (Gather), is closed when the queue
	// holds a whole batch.
	full chan struct{}

	// flushing serialises replays (Run and Flush at shutdown).
	flushing sync.Mutex
}

// entry is one held write, and one line of the file. A line with only
// Done marks the write of that sequence number as written.
type entry struct {
	Seq       uint64               `json:"seq,omitempty"`
	Done      uint64               `json:"done,omitempty"`
	Call      *directory.Call      `json:"call,omitempty"`
	CallKey   string               `json:"call_key,omitempty"` // of the recording's call
	Recording *directory.Recording `json:"recording,omitempty"`
}

// waiter is one write of SaveCall or SaveRecording on its way to the store.
type waiter struct {
	e    entry
	call *directory.Call      // the caller's row, given its ID once written
	rec  *directory.Recording // the caller's recording, filled in once written
	err  error                // the store's refusal
	lead bool                 // woken to write the writes queued
	wake chan struct{}        // closed when written, held or refused, or lead is set
}

// Open reads the writes left in the file at path by an earlier run and
// keeps the file for new ones; an empty path keeps them in memory only.
// timeout bounds each store call.
func Open(path string, store directory.KeyedStore, timeout time.Duration, log *slog.Logger) (*Spool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Spool{store: store, log: log, timeout: timeout, path: path, wake: make(chan struct{}, 1)}
	if path == "" {
		return s, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := s.load(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool %s: %w", path, err)
	}
	s.f = f
	if len(s.pending) == 0 {
		// Nothing held: start the file afresh.
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool %s: %w", path, err)
		}
	} else {
		log.Warn("call history writes held by an earlier run", "writes", len(s.pending), "path", path)
	}
	return s, nil
}

// load reads the held writes from f. A last line cut short by a crash is
// the write that was never acknowledged: it is skipped.
func (s *Spool) load(f *os.File) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	if cut := bytes.LastIndexByte(data, '\n') + 1; cut < len(data) {
		// Cut the torn line off, or the next line would be glued to it.
		if err := f.Truncate(int64(cut)); err != nil {
			return err
		}
		s.log.Warn("spool line cut by a crash, skipped", "path", s.path, "bytes", len(data)-cut)
		data = data[:cut]
	}
	done := map[uint64]bool{}
	var held []entry
	for line := range bytes.Lines(data) {
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			s.log.Warn("spool line not readable, skipped", "path", s.path, "err", err)
			continue
		}
		s.seq = max(s.seq, e.Seq, e.Done)
		switch {
		case e.Done != 0:
			done[e.Done] = true
		case e.Call != nil || e.Recording != nil:
			held = append(held, e)
		}
	}
	for _, e := range held {
		if !done[e.Seq] {
			s.pending = append(s.pending, e)
		}
	}
	return nil
}

// Close closes the file; the writes still held stay in it for the next run.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Held returns the number of writes waiting for the store.
func (s *Spool) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// SaveCall writes call c (c.Key set) to the store, or holds the write when
// the store does not answer or writes are already held (they go first).
// It returns an error only when the store refused the row; it returns once
// the row is in the store or in the spool file.
func (s *Spool) SaveCall(ctx context.Context, c *directory.Call) error {
	cp := *c
	return s.submit(ctx, &waiter{e: entry{Call: &cp}, call: c})
}

// SaveRecording writes recording r of the call named callKey as SaveCall
// writes a call.
func (s *Spool) SaveRecording(ctx context.Context, callKey string, r *directory.Recording) error {
	cp := *r
	return s.submit(ctx, &waiter{e: entry{CallKey: callKey, Recording: &cp}, rec: r})
}

// submit writes w, with the writes made while another was in flight: the
// first of them to arrive writes them all, in order, and each caller gets
// its own answer. The writes go on even if ctx is cancelled, as the other
// callers' writes do not depend on it; s.timeout bounds each store call.
func (s *Spool) submit(ctx context.Context, w *waiter) error {
	w.wake = make(chan struct{})
	s.mu.Lock()
	if len(s.pending) > 0 && !s.writing {
		defer s.mu.Unlock()
		s.hold(w.e)
		return nil
	}
	s.queue = append(s.queue, w)
	if s.writing {
		if s.full != nil && len(s.queue) >= maxBatch {
			close(s.full)
			s.full = nil
		}
		s.mu.Unlock()
		<-w.wake
		if !w.lead {
			return w.err
		}
		s.mu.Lock()
	}
	s.writing = true
	if s.Gather > 0 && !w.lead && w.call != nil {
		// Nothing was in flight: wait for company. A lead woken by the
		// write before has the writes made meanwhile already.
		s.gather()
	}
	batch := s.queue
	s.queue = nil
	// Writes already held go first: hold these behind them.
	held := len(s.pending) > 0
	s.mu.Unlock()

	s.writeBatch(context.WithoutCancel(ctx), batch, held)

	s.mu.Lock()
	if len(s.queue) > 0 {
		next := s.queue[0]
		next.lead = true
		close(next.wake)
	} else {
		s.writing = false
	}
	s.mu.Unlock()
	for _, o := range batch {
		if o != w {
			close(o.wake)
		}
	}
	return w.err
}

// gather lets the writes made for s.Gather, or until the queue holds a
// whole batch, join the queue. s.mu is held, and held again on return.
func (s *Spool) gather() {
	full := make(chan struct{})
	s.full = full
	s.mu.Unlock()
	t := time.NewTimer(s.Gather)
	select {
	case <-t.C:
	case <-full:
	}
	t.Stop()
	s.mu.Lock()
	s.full = nil
}

// writeBatch writes the writes of batch in order: runs of call rows in one
// transaction each, recordings one by one. From the first write the store
// does not answer on (or from the start, when held is set) the rest are
// held.
func (s *Spool) writeBatch(ctx context.Context, batch []*waiter, held bool) {
	for len(batch) > 0 && !held {
		n := 1
		for batch[0].call != nil && n < len(batch) && n < maxBatch && batch[n].call != nil {
			n++
		}
		done, err := s.writeRun(ctx, batch[:n])
		batch = batch[done:]
		if err != nil {
			s.log.Warn("call history write held: store unavailable", "err", err, "writes", len(batch))
			held = true
		}
	}
	if len(batch) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range batch {
		s.hold(w.e)
	}
}

// saveBatch writes cs in one transaction: saved, or the error of a store
// that did not answer; a batch the store refused (a row at fault) is
// neither, and its rows are to be written one by one. what names the rows
// in the log.
func (s *Spool) saveBatch(ctx context.Context, cs []*directory.Call, what string) (saved bool, err error) {
	wctx, cancel := context.WithTimeout(ctx, s.timeout)
	err = s.store.SaveCalls(wctx, cs)
	cancel()
	if err == nil {
		return true, nil
	}
	if !refused(err) {
		return false, err
	}
	s.log.Warn(what+" batch refused: writing its rows one by one", "rows", len(cs), "err", err)
	return false, nil
}

// writeRun writes run, one write or call rows only, and returns how many
// of its writes are done (written, or refused with the refusal in their
// waiter) and, when that is not all, the error of the store that did not
// answer. A batch the store refuses is written again one by one, so that
// only the row at fault is refused.
func (s *Spool) writeRun(ctx context.Context, run []*waiter) (int, error) {
	if len(run) > 1 {
		cs := make([]*directory.Call, len(run))
		for i, w := range run {
			cs[i] = w.call
		}
		if saved, err := s.saveBatch(ctx, cs, "call history"); saved {
			return len(run), nil
		} else if err != nil {
			return 0, err
		}
	}
	for i, w := range run {
		wctx, cancel := context.WithTimeout(ctx, s.timeout)
		var err error
		if w.call != nil {
			err = s.store.SaveCall(wctx, w.call)
		} else {
			err = s.store.SaveRecording(wctx, w.e.CallKey, w.rec)
		}
		cancel()
		if err != nil && !refused(err) {
			return i, err
		}
		w.err = err
	}
	return len(run), nil
}

// refused reports whether the store answered and refused the write, which
// holding would not change.
func refused(err error) bool {
	return errors.Is(err, directory.ErrInvalid) || errors.Is(err, directory.ErrConflict)
}

// hold appends e to the held writes and to the file. s.mu is held.
func (s *Spool) hold(e entry) {
	s.seq++
	e.Seq = s.seq
	if len(s.pending) >= MaxHeld {
		old := s.pending[0]
		s.pending = s.pending[1:]
		s.log.Error("held call history write dropped: too many held", "seq", old.Seq)
	}
	s.pending = append(s.pending, e)
	s.appendLine(e, true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// appendLine writes e to the file, synced when sync is set. A file that
// cannot be written (the same full disk) leaves the write in memory only
// until Flush manages to rewrite the file.
func (s *Spool) appendLine(e entry, sync bool) {
	if s.f == nil || s.fileErr {
		return
	}
	line, err := json.Marshal(e)
	if err == nil {
		_, err = s.f.Write(append(line, '\n'))
	}
	if err == nil && sync {
		err = s.f.Sync()
	}
	if err != nil {
		s.fileErr = true
		s.log.Error("spool file not written: held writes are in memory only", "path", s.path, "err", err)
	}
}

// rewrite writes the file afresh from the held writes, after an append
// failed (the disk was full): once there is room, a restart loses nothing
// again. s.mu is held.
func (s *Spool) rewrite() {
	if s.f == nil {
		return
	}
	var buf bytes.Buffer
	for _, e := range s.pending {
		line, err := json.Marshal(e)
		if err != nil {
			return
		}
		buf.Write(append(line, '\n'))
	}
	err := s.f.Truncate(0)
	if err == nil {
		_, err = s.f.Write(buf.Bytes())
	}
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		return // still no room: the writes stay in memory
	}
	s.fileErr = false
	s.log.Info("spool file written again", "path", s.path, "writes", len(s.pending))
}

// Run writes the held writes whenever there are some, retrying every Retry
// while the store does not answer, until ctx ends.
func (s *Spool) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		if !s.Flush(ctx) {
			t.Reset(Retry)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}

// Flush writes the held writes in order and reports whether none is left.
// A write the store refuses is logged and dropped.
func (s *Spool) Flush(ctx context.Context) bool {
	s.flushing.Lock()
	defer s.flushing.Unlock()
	s.mu.Lock()
	if s.fileErr {
		s.rewrite()
	}
	s.mu.Unlock()
	written := 0
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			if written > 0 && s.f != nil {
				// Every write is in the store: the file starts afresh.
				if err := s.f.Truncate(0); err != nil {
					s.log.Warn("spool file not emptied", "path", s.path, "err", err)
				}
			}
			s.mu.Unlock()
			if written > 0 {
				s.log.Info("held call history writes written", "writes", written)
			}
			return true
		}
		run := s.front()
		s.mu.Unlock()
		if ctx.Err() != nil {
			return false
		}
		done, err := s.applyRun(ctx, run)
		written += done
		s.mu.Lock()
		if done > 0 {
			// Only Flush removes from the front, but hold may have dropped
			// the oldest meanwhile.
			last := run[done-1].Seq
			for len(s.pending) > 0 && s.pending[0].Seq <= last {
				s.pending = s.pending[1:]
			}
			for _, e := range run[:done] {
				s.appendLine(entry{Done: e.Seq}, false)
			}
		}
		s.mu.Unlock()
		if err != nil {
			return false
		}
	}
}

// front returns the first held write, or the call rows at the front (at
// most maxBatch), which applyRun writes together. s.mu is held.
func (s *Spool) front() []entry {
	n := 1
	for s.pending[0].Call != nil && n < len(s.pending) && n < maxBatch && s.pending[n].Call != nil {
		n++
	}
	return append([]entry(nil), s.pending[:n]...)
}

// applyRun writes the held writes run, one write or call rows only, and
// returns how many are done (written, or refused and dropped) and, when
// that is not all, the error of the store that did not answer.
func (s *Spool) applyRun(ctx context.Context, run []entry) (int, error) {
	if len(run) > 1 {
		cs := make([]*directory.Call, len(run))
		for i, e := range run {
			c := *e.Call
			cs[i] = &c
		}
		if saved, err := s.saveBatch(ctx, cs, "held call history"); saved {
			return len(run), nil
		} else if err != nil {
			return 0, err
		}
	}
	for i, e := range run {
		err := s.apply(ctx, e)
		if err != nil && !refused(err) {
			return i, err
		}
		if err != nil {
			s.log.Error("held call history write dropped: store refused it", "seq", e.Seq, "err", err)
		}
	}
	return len(run), nil
}

func (s *Spool) apply(ctx context.Context, e entry) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if e.Call != nil {
		c := *e.Call
		return s.store.SaveCall(ctx, &c)
	}
	r := *e.Recording
	return s.store.SaveRecording(ctx, e.CallKey, &r)
}
