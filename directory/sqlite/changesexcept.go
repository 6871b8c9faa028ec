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
	var last int64
	err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(max(seq), ?) FROM
		(SELECT seq FROM changes WHERE seq > ? ORDER BY seq LIMIT ?)`, after, after, limit).Scan(&last)
	if err != nil {
		return nil, after, fmt.Errorf("changes after %d: %w", after, s.fail(err))
	}
	if last == after {
		return nil, after, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, kind, id, key, node, at FROM changes
		WHERE seq > ? AND seq <= ? AND NOT (kind = ? AND node = ?) ORDER BY seq`,
		after, last, string(directory.ChangeBinding), node)
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
	return cs, last, nil
}
