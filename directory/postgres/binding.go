package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

func bindingChange(ext, node string) directory.Change {
	return directory.Change{Kind: directory.ChangeBinding, Key: ext, Node: node}
}

// PutBinding inserts or replaces the binding of (b.Extension, b.Contact).
// A zero b.UpdatedAt is stored as the time of the transaction.
func (s *Store) PutBinding(ctx context.Context, b directory.Binding) error {
	return s.PutBindings(ctx, []directory.Binding{b})
}

// PutBindings inserts or replaces each of bs in one transaction (one round
// trip for the whole batch), logging one change per extension and node.
func (s *Store) PutBindings(ctx context.Context, bs []directory.Binding) error {
	if len(bs) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		var changes []directory.Change
		logged := make(map[[2]string]bool, len(bs))
		for _, b := range bs {
			batch.Queue(`INSERT INTO bindings (extension, contact, source, transport, expires_at, call_id,
					cseq, user_agent, node, updated_at, direct, path)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()), $11, $12)
				ON CONFLICT (extension, contact) DO UPDATE SET source = excluded.source,
					transport = excluded.transport, expires_at = excluded.expires_at, call_id = excluded.call_id,
					cseq = excluded.cseq, user_agent = excluded.user_agent, node = excluded.node,
					updated_at = excluded.updated_at, direct = excluded.direct, path = excluded.path`,
				b.Extension, b.Contact, b.Source, b.Transport, b.Expires, b.CallID, int64(b.CSeq), b.UserAgent,
				b.Node, nullTime(b.UpdatedAt), b.Direct, b.Path)
			if k := [2]string{b.Extension, b.Node}; !logged[k] {
				logged[k] = true
				changes = append(changes, bindingChange(b.Extension, b.Node))
			}
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		return logChanges(ctx, tx, changes...)
	})
	return mapErr(fmt.Sprintf("put %d bindings of %s", len(bs), bs[0].Extension), err)
}

// deleteBindings runs a DELETE of bindings and logs a change of ext when it
// removed any.
func (s *Store) deleteBindings(ctx context.Context, ext, node, sql string, args ...any) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return logChanges(ctx, tx, bindingChange(ext, node))
	})
}

// DeleteBinding removes the binding of (b.Extension, b.Contact); there
// being none is not an error.
func (s *Store) DeleteBinding(ctx context.Context, b directory.Binding) error {
	err := s.deleteBindings(ctx, b.Extension, b.Node,
		"DELETE FROM bindings WHERE extension = $1 AND contact = $2", b.Extension, b.Contact)
	return mapErr(fmt.Sprintf("delete binding of %s", b.Extension), err)
}

// DeleteBindings removes every binding of ext.
func (s *Store) DeleteBindings(ctx context.Context, ext, node string) error {
	err := s.deleteBindings(ctx, ext, node, "DELETE FROM bindings WHERE extension = $1", ext)
	return mapErr(fmt.Sprintf("delete bindings of %s", ext), err)
}

// Bindings returns the bindings that expire after now, by extension and
// contact.
func (s *Store) Bindings(ctx context.Context, now time.Time) ([]directory.Binding, error) {
	rows, err := s.pool.Query(ctx, `SELECT extension, contact, source, transport, expires_at, call_id, cseq,
			user_agent, node, updated_at, direct, path
		FROM bindings WHERE expires_at > $1 ORDER BY extension, contact`, now)
	if err != nil {
		return nil, mapErr("bindings", err)
	}
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Binding, error) {
		var b directory.Binding
		var cseq int64
		err := r.Scan(&b.Extension, &b.Contact, &b.Source, &b.Transport, &b.Expires, &b.CallID, &cseq,
			&b.UserAgent, &b.Node, &b.UpdatedAt, &b.Direct, &b.Path)
		b.CSeq = uint32(cseq)
		b.Expires, b.UpdatedAt = b.Expires.UTC(), b.UpdatedAt.UTC()
		return b, err
	})
	return nilIfEmpty(bs), mapErr("bindings", err)
}

// DeleteExpiredBindings removes bindings that expired at or before now. It
// logs no change: every node knows the expiry times and drops expired
// bindings itself.
func (s *Store) DeleteExpiredBindings(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM bindings WHERE expires_at <= $1", now)
	if err != nil {
		return 0, mapErr("delete expired bindings", err)
	}
	return int(tag.RowsAffected()), nil
}
