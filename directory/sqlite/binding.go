package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// PutBinding inserts or replaces the binding of (b.Extension, b.Contact).
func (s *Store) PutBinding(ctx context.Context, b directory.Binding) error {
	return s.PutBindings(ctx, []directory.Binding{b})
}

// DeleteBinding removes the binding of (b.Extension, b.Contact), if any.
func (s *Store) DeleteBinding(ctx context.Context, b directory.Binding) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM bindings WHERE extension = ? AND contact = ?`, b.Extension, b.Contact)
		return logBindingDelete(ctx, tx, res, err, b.Extension, b.Node)
	})
	if err != nil {
		return fmt.Errorf("delete binding of %s: %w", b.Extension, err)
	}
	return nil
}

// DeleteBindings removes every binding of ext.
func (s *Store) DeleteBindings(ctx context.Context, ext, node string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM bindings WHERE extension = ?`, ext)
		return logBindingDelete(ctx, tx, res, err, ext, node)
	})
	if err != nil {
		return fmt.Errorf("delete bindings of %s: %w", ext, err)
	}
	return nil
}

// logBindingDelete logs the change of a DELETE that removed something.
func logBindingDelete(ctx context.Context, tx *sql.Tx, res sql.Result, err error, ext, node string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return err
	}
	return logChange(ctx, tx, directory.ChangeBinding, 0, ext, node)
}

// Bindings returns the bindings that expire after t, by extension.
func (s *Store) Bindings(ctx context.Context, t time.Time) ([]directory.Binding, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT extension, contact, source, transport, expires_at, call_id, cseq,
			user_agent, node, updated_at, direct, path
		FROM bindings WHERE expires_at > ? ORDER BY extension, contact`, t.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("bindings: %w", s.fail(err))
	}
	defer rows.Close()
	var bs []directory.Binding
	for rows.Next() {
		var b directory.Binding
		var expires, updated sql.NullInt64
		var cseq int64
		if err := rows.Scan(&b.Extension, &b.Contact, &b.Source, &b.Transport, &expires, &b.CallID, &cseq,
			&b.UserAgent, &b.Node, &updated, &b.Direct, &b.Path); err != nil {
			return nil, fmt.Errorf("bindings: %w", s.fail(err))
		}
		b.CSeq = uint32(cseq)
		b.Expires, b.UpdatedAt = fromMicros(expires), fromMicros(updated)
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bindings: %w", s.fail(err))
	}
	return bs, nil
}

// DeleteExpiredBindings removes the bindings that expired at or before t
// and logs a change for each extension that lost one.
func (s *Store) DeleteExpiredBindings(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM bindings WHERE expires_at <= ? RETURNING extension`, t.UnixMicro())
		if err != nil {
			return err
		}
		defer rows.Close()
		exts := map[string]bool{}
		var order []string
		for rows.Next() {
			var ext string
			if err := rows.Scan(&ext); err != nil {
				return err
			}
			n++
			if !exts[ext] {
				exts[ext] = true
				order = append(order, ext)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, ext := range order {
			if err := logChange(ctx, tx, directory.ChangeBinding, 0, ext, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired bindings: %w", err)
	}
	return n, nil
}
