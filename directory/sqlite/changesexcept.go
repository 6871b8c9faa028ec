package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

var _ directory.ChangesExcepter = (*Store)(nil)

// ChangesExcept is Changes less the binding changes of node (see
// directory.ChangesExcepter): they are skipped by SQLite, not read.
func (s *Store) ChangesExcept(ctx context.Context, after int64, limit int, node string) ([]directory.Change, int64, error) {
	if limit <= 0 || limit > maxChanges {
		limit = maxChanges
	}
	// The window is (after, after+limit] of seq, whose end is one lookup
	// (seq has no gaps but where entries were pruned: such a gap is
	// jumped).
	var last, first sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, changesExceptLastSQL,
		after, after+int64(limit)).Scan(&last)
	if err == nil && !last.Valid {
		err = s.rdb.QueryRowContext(ctx, changesExceptFirstSQL, after).Scan(&first)
		if err == nil && first.Valid {
			after = first.Int64 - 1
			err = s.rdb.QueryRowContext(ctx, changesExceptLastSQL,
				after, after+int64(limit)).Scan(&last)
		}
	}
	if err != nil {
		return nil, after, fmt.Errorf("changes after %d: %w", after, s.fail(err))
	}
	if !last.Valid {
		return nil, after, nil
	}
	rows, err := s.rdb.QueryContext(ctx, changesExceptSQL,
		after, last.Int64, string(directory.ChangeBinding), node)
	if err != nil {
		return nil, after, fmt.Errorf("changes after %d: %w", after, s.fail(err))
	}
	defer rows.Close()
	var cs []directory.Change
	for rows.Next() {
		var c directory.Change
		var at sql.NullInt64
		if err := rows.Scan(&c.Seq, &c.Kind, &c.ID, &c.Key, &c.Node, &at); err != nil {
			return nil, after, fmt.Errorf("changes after %d: %w", after, s.fail(err))
		}
		c.At = fromMicros(at)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, after, fmt.Errorf("changes after %d: %w", after, s.fail(err))
	}
	return cs, last.Int64, nil
}

// The change log reads of ChangesExcept.: see there.
const (
	changesExceptLastSQL  = `SELECT max(seq) FROM changes WHERE seq > ? AND seq <= ?`
	changesExceptFirstSQL = `SELECT min(seq) FROM changes WHERE seq > ?`
	changesExceptSQL      = `SELECT seq, kind, id, key, node, at FROM changes
		WHERE seq > ? AND seq <= ? AND NOT (kind = ? AND node = ?) ORDER BY seq`
)
