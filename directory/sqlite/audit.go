package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Audit appends e to the audit log and sets e.ID (and e.At when zero).
func (s *Store) Audit(ctx context.Context, e *directory.AuditEntry) error {
	at := e.At
	if at.IsZero() {
		at = now()
	}
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit_log (at, actor_id, actor, action, object, detail)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			at.UnixMicro(), nullID(e.ActorID), e.Actor, e.Action, e.Object, e.Detail).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	e.ID, e.At = id, at
	return nil
}

// AuditLog lists the entries f selects, newest first.
func (s *Store) AuditLog(ctx context.Context, f directory.AuditFilter) ([]directory.AuditEntry, error) {
	conds := []string{"1"}
	var args []any
	if f.ActorID != 0 {
		conds = append(conds, "actor_id = ?")
		args = append(args, f.ActorID)
	}
	if f.Action != "" {
		conds = append(conds, `action LIKE ? ESCAPE '\'`)
		args = append(args, likePrefix(f.Action))
	}
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, at, actor_id, actor, action, object, detail FROM audit_log
		WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", s.fail(err))
	}
	defer rows.Close()
	var es []directory.AuditEntry
	for rows.Next() {
		var e directory.AuditEntry
		var at, actor sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &actor, &e.Actor, &e.Action, &e.Object, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit log: %w", s.fail(err))
		}
		e.At, e.ActorID = fromMicros(at), actor.Int64
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit log: %w", s.fail(err))
	}
	return es, nil
}
