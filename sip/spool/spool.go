// Package spool holds the call history and recording writes the directory
// store could not take (the database stopped, frozen or on a full disk) and
// writes them when it answers again: in memory, and in an append-only file
// that is fsynced, so that a restart during an outage loses none. Writes go
// out in the order they were made, through the store's keyed writes
// (directory.KeyedStore), so a write replayed twice leaves one row.
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

// Spool is the held writes and the file that keeps them.
type Spool struct {
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
// It returns an error only when the store refused the row.
func (s *Spool) SaveCall(ctx context.Context, c *directory.Call) error {
	cp := *c
	return s.save(ctx, entry{Call: &cp}, func(ctx context.Context) error { return s.store.SaveCall(ctx, c) })
}

// SaveRecording writes recording r of the call named callKey as SaveCall
// writes a call.
func (s *Spool) SaveRecording(ctx context.Context, callKey string, r *directory.Recording) error {
	cp := *r
	return s.save(ctx, entry{CallKey: callKey, Recording: &cp},
		func(ctx context.Context) error { return s.store.SaveRecording(ctx, callKey, r) })
}

func (s *Spool) save(ctx context.Context, e entry, write func(context.Context) error) error {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, s.timeout)
		err := write(wctx)
		cancel()
		if err == nil || refused(err) {
			return err
		}
		s.log.Warn("call history write held: store unavailable", "err", err)
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	s.hold(e)
	return nil
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
		e := s.pending[0]
		s.mu.Unlock()
		if ctx.Err() != nil {
			return false
		}
		err := s.apply(ctx, e)
		if err != nil && !refused(err) {
			return false
		}
		if err != nil {
			s.log.Error("held call history write dropped: store refused it", "seq", e.Seq, "err", err)
		}
		written++
		s.mu.Lock()
		// Only Flush removes from the front, but hold may have dropped the
		// oldest meanwhile.
		if len(s.pending) > 0 && s.pending[0].Seq == e.Seq {
			s.pending = s.pending[1:]
		}
		s.appendLine(entry{Done: e.Seq}, false)
		s.mu.Unlock()
	}
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
