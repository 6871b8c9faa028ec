package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Call history and recording rows are written through the server's spool:
// a write the store misses (stopped, frozen, full disk) is held and written
// when it answers again, in order and exactly once, under the key each row
// gets here.

// newRowKey returns a key for a new call history row.
func newRowKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// HistoryWritesHeld returns the number of call history and recording
// writes waiting for the store.
func (s *Server) HistoryWritesHeld() int { return s.history.Held() }

// closeHistory makes a last attempt at the held writes at shutdown; those
// left stay in the spool file for the next start.
func (s *Server) closeHistory(ctx context.Context) {
	if !s.history.Flush(ctx) {
		s.log.Warn("call history writes still held at shutdown", "writes", s.history.Held())
	}
	if err := s.history.Close(); err != nil {
		s.log.Warn("spool not closed", "err", err)
	}
}
