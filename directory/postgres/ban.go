package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// PutBan inserts or replaces the ban of (b.Source, b.Extension) and logs
// the change with b.Node; a zero b.Created is stored as the time of the
// transaction.
func (s *Store) PutBan(ctx context.Context, b directory.Ban) error {
	if err := directory.ValidateBan(&b); err != nil {
		return fmt.Errorf("put ban of %s: %w", b.Source, err)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO bans (source, extension, reason, created_at, expires_at, node)
			VALUES ($1, $2, $3, coalesce($4, now()), $5, $6)
			ON CONFLICT (source, extension) DO UPDATE SET reason = excluded.reason,
				created_at = excluded.created_at, expires_at = excluded.expires_at, node = excluded.node`,
			b.Source, b.Extension, b.Reason, nullTime(b.Created), b.Expires, b.Node)
		if err != nil {
			return err
		}
		return logChanges(ctx, tx, directory.Change{Kind: directory.ChangeBan, Key: b.Source, Node: b.Node})
	})
	return mapErr(fmt.Sprintf("put ban of %s", b.Source), err)
}

// Bans returns the bans that expire after now, by source and extension.
func (s *Store) Bans(ctx context.Context, now time.Time) ([]directory.Ban, error) {
	rows, err := s.pool.Query(ctx, `SELECT source, extension, reason, created_at, expires_at, node
		FROM bans WHERE expires_at > $1 ORDER BY source, extension`, now)
	if err != nil {
		return nil, mapErr("bans", err)
	}
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Ban, error) {
		var b directory.Ban
		err := r.Scan(&b.Source, &b.Extension, &b.Reason, &b.Created, &b.Expires, &b.Node)
		b.Created, b.Expires = b.Created.UTC(), b.Expires.UTC()
		return b, err
	})
	return nilIfEmpty(bs), mapErr("bans", err)
}

// DeleteBans removes every ban and extension lock of ip and logs the
// change when there was any.
func (s *Store) DeleteBans(ctx context.Context, ip string) (int, error) {
	src, err := directory.CanonicalIP(ip)
	if err != nil {
		return 0, fmt.Errorf("delete bans of %q: %w", ip, err)
	}
	var n int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM bans WHERE source = $1", src)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
		}
		return logChanges(ctx, tx, directory.Change{Kind: directory.ChangeUnban, Key: src})
	})
	if err != nil {
		return 0, mapErr(fmt.Sprintf("delete bans of %s", src), err)
	}
	return int(n), nil
}

// DeleteExpiredBans removes the bans that expired at or before now.
func (s *Store) DeleteExpiredBans(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM bans WHERE expires_at <= $1", now)
	if err != nil {
		return 0, mapErr("delete expired bans", err)
	}
	return int(tag.RowsAffected()), nil
}
