package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// PutBan inserts or replaces the ban of (b.Source, b.Extension) and logs
// the change with b.Node.
func (s *Store) PutBan(ctx context.Context, b directory.Ban) error {
	if err := directory.ValidateBan(&b); err != nil {
		return fmt.Errorf("put ban of %s: %w", b.Source, err)
	}
	if b.Created.IsZero() {
		b.Created = now()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bans (source, extension, reason, created_at, expires_at, node)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (source, extension) DO UPDATE SET reason = excluded.reason,
				created_at = excluded.created_at, expires_at = excluded.expires_at, node = excluded.node`,
			b.Source, b.Extension, b.Reason, b.Created.UnixMicro(), b.Expires.UnixMicro(), b.Node)
		if err != nil {
			return err
		}
		return logChange(ctx, tx, directory.ChangeBan, 0, b.Source, b.Node)
	})
	if err != nil {
		return fmt.Errorf("put ban of %s: %w", b.Source, err)
	}
	return nil
}

// Bans returns the bans that expire after t, by source and extension.
func (s *Store) Bans(ctx context.Context, t time.Time) ([]directory.Ban, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT source, extension, reason, created_at, expires_at, node
		FROM bans WHERE expires_at > ? ORDER BY source, extension`, t.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("bans: %w", s.fail(err))
	}
	defer rows.Close()
	var bs []directory.Ban
	for rows.Next() {
		var b directory.Ban
		var created, expires sql.NullInt64
		if err := rows.Scan(&b.Source, &b.Extension, &b.Reason, &created, &expires, &b.Node); err != nil {
			return nil, fmt.Errorf("bans: %w", s.fail(err))
		}
		b.Created, b.Expires = fromMicros(created), fromMicros(expires)
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bans: %w", s.fail(err))
	}
	return bs, nil
}

// DeleteBans removes every ban and extension lock of ip and logs the
// change when there was any.
func (s *Store) DeleteBans(ctx context.Context, ip string) (int, error) {
	src, err := directory.CanonicalIP(ip)
	if err != nil {
		return 0, fmt.Errorf("delete bans of %q: %w", ip, err)
	}
	var n int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM bans WHERE source = ?`, src)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return logChange(ctx, tx, directory.ChangeUnban, 0, src, "")
	})
	if err != nil {
		return 0, fmt.Errorf("delete bans of %s: %w", src, err)
	}
	return int(n), nil
}

// DeleteExpiredBans removes the bans that expired at or before t.
func (s *Store) DeleteExpiredBans(ctx context.Context, t time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM bans WHERE expires_at <= ?`, t.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired bans: %w", err)
	}
	return int(n), nil
}
