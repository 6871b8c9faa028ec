package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

const auditColumns = `id, at, actor_id, actor, ip, user_agent, action, object, detail, before, after, prev_hash, hash`

// Audit appends e to the audit log, chained to the last entry, and sets
// e.ID, e.At (now when zero), e.PrevHash and e.Hash. The single writer
// connection makes reading the last hash and appending one step.
func (s *Store) Audit(ctx context.Context, e *directory.AuditEntry) error {
	at := e.At
	if at.IsZero() {
		at = now()
	}
	x := *e
	x.At = directory.AuditTime(at)
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&x.PrevHash)
		if errors.Is(err, sql.ErrNoRows) {
			x.PrevHash, err = "", nil
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO audit_log (at, actor_id, actor, ip, user_agent, action, object,
			detail, before, after, prev_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			x.At.UnixMicro(), nullID(x.ActorID), x.Actor, x.IP, x.UserAgent, x.Action, x.Object, x.Detail,
			x.Before, x.After, x.PrevHash).Scan(&x.ID); err != nil {
			return err
		}
		x.Hash = x.ChainHash()
		_, err = tx.ExecContext(ctx, `UPDATE audit_log SET hash = ? WHERE id = ?`, x.Hash, x.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	*e = x
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
	if f.Object != "" {
		conds = append(conds, "object = ?")
		args = append(args, f.Object)
	}
	if !f.From.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		conds = append(conds, "at < ?")
		args = append(args, f.To.UnixMicro())
	}
	limit, offset := f.Page.Limit()
	return s.auditRows(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
}

// AuditRange returns up to limit entries with IDs above afterID, in ID
// order: the chain, for verification.
func (s *Store) AuditRange(ctx context.Context, afterID int64, limit int) ([]directory.AuditEntry, error) {
	return s.auditRows(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
}

func (s *Store) auditRows(ctx context.Context, q string, args ...any) ([]directory.AuditEntry, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", s.fail(err))
	}
	defer rows.Close()
	var es []directory.AuditEntry
	for rows.Next() {
		var e directory.AuditEntry
		var at, actor sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &actor, &e.Actor, &e.IP, &e.UserAgent, &e.Action, &e.Object, &e.Detail,
			&e.Before, &e.After, &e.PrevHash, &e.Hash); err != nil {
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
