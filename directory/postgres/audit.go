package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

const auditColumns = `id, at, coalesce(actor_id, 0), actor, ip, user_agent, action, object, detail, before, after, prev_hash, hash`

// auditLock is the advisory lock that makes appends to the chain one at a
// time across every node sharing the database.
const auditLock = 0x5357_4155_4449_5400 // "SWAUDIT"

// Audit appends e to the audit log, chained to the last entry, and sets
// e.ID, e.At (now when zero), e.PrevHash and e.Hash. A transaction-scoped
// advisory lock serializes appends across nodes, so that IDs follow the
// chain.
func (s *Store) Audit(ctx context.Context, e *directory.AuditEntry) error {
	x := *e
	if x.At.IsZero() {
		x.At = time.Now()
	}
	x.At = directory.AuditTime(x.At)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLock)); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&x.PrevHash)
		if errors.Is(err, pgx.ErrNoRows) {
			x.PrevHash, err = "", nil
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO audit_log (at, actor_id, actor, ip, user_agent, action, object,
			detail, before, after, prev_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			x.At, nullID(x.ActorID), x.Actor, x.IP, x.UserAgent, x.Action, x.Object, x.Detail,
			x.Before, x.After, x.PrevHash).Scan(&x.ID); err != nil {
			return err
		}
		x.Hash = x.ChainHash()
		_, err = tx.Exec(ctx, `UPDATE audit_log SET hash = $1 WHERE id = $2`, x.Hash, x.ID)
		return err
	})
	if err != nil {
		return mapErr("audit", err)
	}
	*e = x
	return nil
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
	if f.Object != "" {
		w.add("object = " + w.arg(f.Object))
	}
	if !f.From.IsZero() {
		w.add("at >= " + w.arg(f.From))
	}
	if !f.To.IsZero() {
		w.add("at < " + w.arg(f.To))
	}
	limit, offset := f.Page.Limit()
	return s.auditRows(ctx, "SELECT "+auditColumns+" FROM audit_log"+
		w.sql()+" ORDER BY at DESC, id DESC LIMIT "+w.arg(limit)+" OFFSET "+w.arg(offset), w.args...)
}

// AuditRange returns up to limit entries with IDs above afterID, in ID
// order: the chain, for verification.
func (s *Store) AuditRange(ctx context.Context, afterID int64, limit int) ([]directory.AuditEntry, error) {
	return s.auditRows(ctx, "SELECT "+auditColumns+" FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2", afterID, limit)
}

func (s *Store) auditRows(ctx context.Context, q string, args ...any) ([]directory.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, mapErr("audit log", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.AuditEntry, error) {
		var e directory.AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.ActorID, &e.Actor, &e.IP, &e.UserAgent, &e.Action, &e.Object, &e.Detail,
			&e.Before, &e.After, &e.PrevHash, &e.Hash)
		e.At = e.At.UTC()
		return e, err
	})
	return nilIfEmpty(es), mapErr("audit log", err)
}
