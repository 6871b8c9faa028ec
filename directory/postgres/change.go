package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// notifyChannel is the channel every change is announced on.
const notifyChannel = "switchboard_changes"

// listenerName is the application_name of the connections that LISTEN, so
// that an operator (and the tests) can tell them apart in pg_stat_activity.
const listenerName = "switchboard listener"

// logChanges appends cs to the change log and notifies the other nodes, in
// the transaction that made the changes: they become visible, and the
// followers wake, only if it commits. Call it last in the transaction: it
// takes the change log lock, which is held until commit.
func logChanges(ctx context.Context, tx pgx.Tx, cs ...directory.Change) error {
	markUserChanges(tx, cs)
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock($1)", lockChangeLog)
	for _, c := range cs {
		b.Queue("INSERT INTO changes (kind, id, key, node) VALUES ($1, $2, $3, $4)",
			string(c.Kind), c.ID, c.Key, c.Node)
	}
	b.Queue("SELECT pg_notify($1, '')", notifyChannel)
	return tx.SendBatch(ctx, b).Close()
}

func userChange(id int64) directory.Change {
	return directory.Change{Kind: directory.ChangeUser, ID: id}
}

// Changes returns up to limit entries with Seq > after, oldest first.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]directory.Change, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, kind, id, key, node, at FROM changes
		WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, mapErr("changes", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Change, error) {
		var c directory.Change
		var kind string
		err := r.Scan(&c.Seq, &kind, &c.ID, &c.Key, &c.Node, &c.At)
		c.Kind = directory.ChangeKind(kind)
		c.At = c.At.UTC()
		return c, err
	})
	return nilIfEmpty(out), mapErr("changes", err)
}

// LastChange returns the Seq of the newest entry (0 when none).
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&seq)
	return seq, mapErr("last change", err)
}

// PruneChanges deletes entries older than before.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM changes WHERE at < $1", before)
	return mapErr("prune changes", err)
}

// Notifications returns a channel that receives a value whenever another
// transaction commits a change (NOTIFY switchboard_changes), so a follower
// knows when to read Changes again. It LISTENs on a connection of its own,
// outside the pool; when that connection is lost it reconnects with backoff,
// and after every (re)connection it sends once, because changes may have
// been missed meanwhile. Sends never block: a wake-up that finds the
// channel full is merged with the one already waiting. The channel is closed
// when ctx ends or the store is closed.
func (s *Store) Notifications(ctx context.Context) (<-chan struct{}, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("listen for changes: %w: store closed", directory.ErrUnavailable)
	}
	ctx, cancel := context.WithCancel(ctx)
	id := s.nextID
	s.nextID++
	s.listeners[id] = cancel
	s.wg.Add(1)
	s.mu.Unlock()

	done := func() {
		cancel()
		s.mu.Lock()
		delete(s.listeners, id)
		s.mu.Unlock()
		s.wg.Done()
	}
	conn, err := s.listen(ctx)
	if err != nil {
		done()
		return nil, mapErr("listen for changes", err)
	}
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	go func() {
		defer done()
		defer close(ch)
		s.follow(ctx, conn, ch)
	}()
	return ch, nil
}

// listen opens a connection of its own and LISTENs on it.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig // a copy
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = make(map[string]string)
	}
	cfg.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{notifyChannel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// Reconnection backoff of the listener: the first retry is immediate, then
// the wait doubles up to maxBackoff, with jitter so that nodes that lost the
// server together do not come back in step.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 15 * time.Second
)

// follow waits for notifications on conn and passes them on to ch; when the
// connection fails it reconnects until ctx ends.
func (s *Store) follow(ctx context.Context, conn *pgx.Conn, ch chan<- struct{}) {
	wake := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	for {
		var err error
		for {
			if _, err = conn.WaitForNotification(ctx); err != nil {
				break
			}
			wake()
		}
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		conn.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("change listener lost", "err", err)

		backoff := time.Duration(0)
		for {
			if backoff > 0 {
				t := time.NewTimer(backoff/2 + rand.N(backoff/2))
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			if conn, err = s.listen(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			s.log.Warn("change listener reconnect", "err", err, "retry_in", backoff)
		}
		s.log.Info("change listener reconnected")
		wake()
	}
}
