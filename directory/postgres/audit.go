package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Audit appends e to the audit log and sets its ID and, when zero, its
// time.
func (s *Store) Audit(ctx context.Context, e *directory.AuditEntry) error {
	err := s.pool.QueryRow(ctx, `INSERT INTO audit_log (at, actor_id, actor, action, object, detail)
		VALUES (coalesce($1, now()), $2, $3, $4, $5, $6) RETURNING id, at`,
		nullTime(e.At), nullID(e.ActorID), e.Actor, e.Action, e.Object, e.Detail).Scan(&e.ID, &e.At)
	e.At = e.At.UTC()
	return mapErr("audit", err)
}

// AuditLog lists entries newest first.
func (s *Store) AuditLog(ctx context.Context, f directory.AuditFilter) ([]directory.AuditEntry, error) {
	w := &where{}
	if f.ActorID != 0 {
		w.add("actor_id = " + w.arg(f.ActorID))
	}
	if f.Action != "" {
		w.add("starts_with(action, " + w.arg(f.Action) + ")")
	}
	limit, offset := f.Page.Limit()
	rows, err := s.pool.Query(ctx, "SELECT id, at, coalesce(actor_id, 0), actor, action, object, detail FROM audit_log"+
		w.sql()+" ORDER BY at DESC, id DESC LIMIT "+w.arg(limit)+" OFFSET "+w.arg(offset), w.args...)
	if err != nil {
		return nil, mapErr("audit log", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.AuditEntry, error) {
		var e directory.AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.ActorID, &e.Actor, &e.Action, &e.Object, &e.Detail)
		e.At = e.At.UTC()
		return e, err
	})
	return nilIfEmpty(es), mapErr("audit log", err)
}
