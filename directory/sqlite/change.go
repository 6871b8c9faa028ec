package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// maxChanges bounds one read of the change log.
const maxChanges = 1000

// Changes returns up to limit entries with Seq > after, oldest first.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]directory.Change, error) {
	if limit <= 0 || limit > maxChanges {
		limit = maxChanges
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, kind, id, key, node, at FROM changes
		WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("changes after %d: %w", after, s.fail(err))
	}
	defer rows.Close()
	var cs []directory.Change
	for rows.Next() {
		var c directory.Change
		var at sql.NullInt64
		if err := rows.Scan(&c.Seq, &c.Kind, &c.ID, &c.Key, &c.Node, &at); err != nil {
			return nil, fmt.Errorf("changes after %d: %w", after, s.fail(err))
		}
		c.At = fromMicros(at)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("changes after %d: %w", after, s.fail(err))
	}
	return cs, nil
}

// LastChange returns the Seq of the newest entry, 0 when there is none.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last change: %w", s.fail(err))
	}
	return seq, nil
}

// PruneChanges deletes the entries older than before. Sequence numbers are
// never reused (AUTOINCREMENT), so followers never see one go back.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE at < ?`, before.UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("prune changes: %w", err)
	}
	return nil
}
